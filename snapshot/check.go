package snapshot

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/rs/zerolog"

	"bucketd/engine"
)

// CheckOptions says what Check does.
type CheckOptions struct {
	Dir string
	// Fix truncates the first damaged append-only file at its first bad
	// entry, and empties the append-only files after it, keeping a copy of
	// each file it changes beside it (<name>.bak-<unix seconds>).
	Fix bool
	// Out receives the report: one line per entry, then a summary.
	Out io.Writer
	// Now names the backup copies (unix seconds).
	Now int64
	// Functions, when set, checks the function library entries by
	// restoring them into a scratch engine.
	Functions Functions
}

// damage is the first entry that does not load.
type damage struct {
	file   string // the file's name in the directory
	offset int64
	msg    string
}

// Check verifies a data directory as start-up would read it, without a
// server: the manifest, the files it names, and every entry (replayed into
// a scratch store, so a record that would not load is found too). It
// refuses to run while a server holds the directory. It returns whether
// the directory is sound (after the fix, with opts.Fix); the error is for
// a check that could not run at all.
func Check(opts CheckOptions) (ok bool, err error) {
	out := opts.Out
	lock, err := LockDir(opts.Dir)
	if err != nil {
		return false, err
	}
	defer lock.Unlock()
	man, err := readManifest(opts.Dir)
	if err != nil {
		fmt.Fprintf(out, "manifest: %v\n", err)
		listFiles(out, opts.Dir, nil)
		return false, nil
	}
	if man == nil {
		files, _ := listDataFiles(opts.Dir)
		if len(files) == 0 {
			fmt.Fprintf(out, "%s holds no data yet (no %s): a server starts empty here\n", opts.Dir, manifestName)
			return true, nil
		}
		fmt.Fprintf(out, "%s has no %s, so no file below is loaded; a server refuses to start beside them.\n", opts.Dir, manifestName)
		fmt.Fprintf(out, "Move them away to start empty, or restore the manifest that names them.\n")
		listFiles(out, opts.Dir, nil)
		return false, nil
	}
	fmt.Fprintf(out, "manifest: generation %d, snapshot %q, append-only files %s\n", man.Generation, man.Snapshot, strings.Join(man.AOF, ", "))
	if _, err := checkDir(opts.Dir, man); err != nil {
		fmt.Fprintf(out, "directory: %v\n", err)
		listFiles(out, opts.Dir, man)
		return false, nil
	}
	c := &checker{out: out, p: &Persistence{store: engine.New(engine.Options{Log: zerolog.Nop()}), log: zerolog.Nop(),
		opts: Options{Functions: opts.Functions}}}
	if man.Snapshot != "" {
		c.file(opts.Dir, man.Snapshot, true, false)
	}
	lastData := lastWithData(opts.Dir, man.AOF)
	for i, name := range man.AOF {
		c.file(opts.Dir, name, false, i >= lastData)
	}
	if c.bad == nil {
		fmt.Fprintf(out, "ok: %d entries load\n", c.entries)
		return true, nil
	}
	var later []string
	dropped := c.after
	for i, name := range man.AOF {
		if name == c.bad.file {
			later = man.AOF[i+1:]
		}
	}
	fmt.Fprintf(out, "damaged: %s at offset %d: %s\n", c.bad.file, c.bad.offset, c.bad.msg)
	fmt.Fprintf(out, "%d entries load before it; fixing drops %d bytes of %s from offset %d", c.entries, c.rest, c.bad.file, c.bad.offset)
	if len(later) > 0 {
		fmt.Fprintf(out, " and all of %s (%d entries)", strings.Join(later, ", "), dropped)
	}
	fmt.Fprintln(out)
	if c.bad.file == man.Snapshot {
		fmt.Fprintln(out, "the snapshot itself is damaged: --fix repairs append-only files only; restore the snapshot from a backup")
		return false, nil
	}
	if !opts.Fix {
		fmt.Fprintf(out, "run `bucketd check --dir %s --fix` to cut the file there (a copy of each changed file is kept)\n", opts.Dir)
		return false, nil
	}
	cut := map[string]int64{c.bad.file: c.bad.offset}
	for _, name := range later {
		cut[name] = 0
	}
	for _, name := range append([]string{c.bad.file}, later...) {
		path := filepath.Join(opts.Dir, name)
		backup := path + ".bak-" + strconv.FormatInt(opts.Now, 10)
		if err := copyFile(path, backup); err != nil {
			return false, fmt.Errorf("keeping a copy of %s: %w", name, err)
		}
		if err := os.Truncate(path, cut[name]); err != nil {
			return false, err
		}
		fmt.Fprintf(out, "fixed: %s cut to %d bytes (the whole file is kept as %s)\n", name, cut[name], filepath.Base(backup))
	}
	return true, nil
}

// checker replays files into a scratch store, reporting every entry.
type checker struct {
	out     io.Writer
	p       *Persistence
	entries int     // entries that load, before any damage
	bad     *damage // the first damage
	rest    int64   // bytes of the damaged file from the damage on
	after   int     // entries in the files after the damaged one
}

func (c *checker) file(dir, name string, snapshot, last bool) {
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		c.fail(name, 0, err.Error(), 0)
		return
	}
	end := len(data)
	if !snapshot {
		end = dataEnd(data)
	}
	r := NewReader(data[:end], name)
	for n := 0; ; n++ {
		at := r.Offset()
		ops, err := r.Next()
		if c.bad != nil { // only count what a fix would drop
			if ops == nil {
				return
			}
			c.after++
			continue
		}
		switch {
		case errors.Is(err, ErrTorn) && last && !snapshot:
			fmt.Fprintf(c.out, "%s:%d torn last entry (a crash during a write): start-up cuts its %d bytes off\n", name, at, len(data)-int(at))
			return
		case err != nil && last && !snapshot && lostWrite(data, int(at), end):
			fmt.Fprintf(c.out, "%s:%d the last write did not all reach the disk (zeroed sectors, a power cut): start-up cuts its %d bytes off\n", name, at, len(data)-int(at))
			return
		case errors.Is(err, ErrTorn):
			c.fail(name, at, "incomplete entry", int64(len(data))-at)
			return
		case err != nil:
			var ce *CorruptError
			msg := err.Error()
			if errors.As(err, &ce) {
				msg = ce.Msg
			}
			c.fail(name, at, msg, int64(len(data))-at)
			return
		case ops == nil:
			if end < len(data) {
				fmt.Fprintf(c.out, "%s:%d %d bytes of zeros written ahead of the end (the server did not close the file): start-up cuts them off\n", name, end, len(data)-end)
			}
			return
		}
		if snapshot && n == 0 && (string(ops[0][0]) != opSnapshot || len(ops) != 1) {
			c.fail(name, at, "not a bucketd snapshot", int64(len(data))-at)
			return
		}
		if string(ops[0][0]) != opEnd || !snapshot {
			if err := c.p.apply(ops); err != nil {
				c.fail(name, at, err.Error(), int64(len(data))-at)
				return
			}
		}
		c.entries++
		fmt.Fprintf(c.out, "%s:%d %s ok\n", name, at, describe(ops))
	}
}

func (c *checker) fail(name string, at int64, msg string, rest int64) {
	c.bad = &damage{file: name, offset: at, msg: msg}
	c.rest = rest
	fmt.Fprintf(c.out, "%s:%d BAD: %s\n", name, at, msg)
}

// describe summarises an entry's operations: "PUT users", "3 ops: PUT
// orders, PUT stock, DEL stock".
func describe(ops []Op) string {
	words := make([]string, 0, len(ops))
	for i, op := range ops {
		if i == 4 {
			words = append(words, "…")
			break
		}
		w := string(op[0])
		if len(op) > 1 && string(op[0]) != opSnapshot && string(op[0]) != opEnd {
			w += " " + string(op[1])
		}
		words = append(words, w)
	}
	if len(ops) == 1 {
		return words[0]
	}
	return fmt.Sprintf("%d ops: %s", len(ops), strings.Join(words, ", "))
}

// listFiles prints the data files in dir and whether m names them.
func listFiles(out io.Writer, dir string, m *manifest) {
	files, _ := listDataFiles(dir)
	for _, f := range files {
		what := "not named by any manifest"
		switch {
		case m != nil && !f.tmp && m.named(f.name):
			what = "named by the manifest"
		case f.tmp:
			what = "a temporary file of an interrupted write"
		case m != nil && f.gen < m.Generation:
			what = "older than the manifest's generation: left by an earlier rewrite, removed at start"
		case m != nil && m.interrupted(dir, f):
			what = "left by a rewrite stopped before the manifest named it: holds nothing the named files lack, removed at start"
		}
		size := int64(-1)
		if st, err := os.Stat(filepath.Join(dir, f.name)); err == nil {
			size = st.Size()
		}
		fmt.Fprintf(out, "  %s (%d bytes): %s\n", f.name, size, what)
	}
}

func copyFile(from, to string) error {
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(to, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
