package snapshot

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"bucketd/engine"
)

const manifestName = "manifest.json"

// manifest names the files that hold the data: a snapshot (or none) and
// the append-only files to replay after it, in order. It is replaced
// atomically (temp file, fsync, rename, directory fsync).
type manifest struct {
	Version    int      `json:"version"`
	Generation int      `json:"generation"`
	Snapshot   string   `json:"snapshot"`
	AOF        []string `json:"aof"`
}

func aofName(gen int) string      { return fmt.Sprintf("appendonly.%d.aof", gen) }
func snapshotName(gen int) string { return fmt.Sprintf("snapshot.%d.bdb", gen) }

// readManifest reads dir's manifest strictly (nil, nil: there is none).
func readManifest(dir string) (*manifest, error) {
	path := filepath.Join(dir, manifestName)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return parseManifest(path, data)
}

// writeFileAtomic writes data to dir/name through a temp file, fsyncing the
// file and the directory, so that a crash leaves the old or the new file.
func writeFileAtomic(dir, name string, write func(f *os.File) error) error {
	tmp := filepath.Join(dir, name+".tmp")
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func writeManifest(dir string, m *manifest) error {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(dir, manifestName, func(f *os.File) error {
		_, err := f.Write(append(data, '\n'))
		return err
	})
}

// NamedDef is a named definition (a reactive query's).
type NamedDef struct {
	Name string
	JSON []byte
}

// snapshotBatch is the most records a RECORDS block holds.
const snapshotBatch = 512

// snapshotFormat is the format version a snapshot's first entry names: 1
// held each record as a PUT of its JSON text, 2 holds them in binary
// RECORDS blocks (engine.AppendRecords). Both load.
const snapshotFormat = "2"

// knownFormat reports whether a snapshot of format version v loads.
func knownFormat(v string) bool { return v == "1" || v == "2" }

// writeSnapshot writes a snapshot file: a header entry, each bucket's
// definition and counters followed by its records in batches, the query
// definitions, the function libraries (one entry, when there are any) and
// an END entry with the number of entries before it.
func writeSnapshot(dir, name string, images []engine.BucketImage, queries []NamedDef, functions []byte, now int64) (int64, error) {
	var size int64
	err := writeFileAtomic(dir, name, func(f *os.File) error {
		w := bufio.NewWriterSize(f, 1<<20)
		var err error
		if size, err = WriteImage(w, images, queries, functions, now); err != nil {
			return err
		}
		return w.Flush()
	})
	return size, err
}

// WriteImage writes a snapshot of images, queries and functions (FUNCTION
// DUMP's payload, nil: none) to w and returns its size: the snapshot
// file's content, which a replicated node also uses as its Raft snapshot
// (docs/replication.md). LoadImage reads it back.
func WriteImage(w io.Writer, images []engine.BucketImage, queries []NamedDef, functions []byte, now int64) (int64, error) {
	var size int64
	var buf, block []byte
	entries := 0
	put := func(ops []Op) error {
		buf = AppendEntry(buf[:0], ops)
		entries++
		size += int64(len(buf))
		_, err := w.Write(buf)
		return err
	}
	if err := put([]Op{{[]byte(opSnapshot), []byte(snapshotFormat), []byte(strconv.FormatInt(now, 10))}}); err != nil {
		return size, err
	}
	for i := range images {
		img := &images[i]
		if err := put([]Op{{[]byte(opBucket), []byte(img.Name), img.Definition,
			[]byte(strconv.FormatInt(img.Counter, 10)), []byte(strconv.FormatUint(img.EventSeq, 10)),
			[]byte(strconv.Itoa(img.Len))}}); err != nil {
			return size, err
		}
		n := 0
		err := img.Scan(snapshotBatch, func(recs []*engine.Record) error {
			n += len(recs)
			block = engine.AppendRecords(block[:0], recs)
			return put([]Op{{[]byte(opRecords), []byte(img.Name), block}})
		})
		if err == nil && n != img.Len {
			err = fmt.Errorf("bucket %q: its image gave %d records, not the %d it counted", img.Name, n, img.Len)
		}
		if err != nil {
			return size, err
		}
	}
	for _, q := range queries {
		if err := put([]Op{{[]byte(opQuery), []byte(q.Name), q.JSON}}); err != nil {
			return size, err
		}
	}
	if functions != nil {
		if err := put([]Op{{[]byte(opFuncs), functions}}); err != nil {
			return size, err
		}
	}
	err := put([]Op{{[]byte(opEnd), []byte(strconv.Itoa(entries))}})
	return size, err
}

// lastWithData returns the index in aofs of the last append-only file
// that holds data: the one that may end with a torn entry or a lost
// write. A rotation that failed leaves an empty newer file in the
// manifest, and appends went on into the older one.
func lastWithData(dir string, aofs []string) int {
	last := 0
	for i, name := range aofs {
		if st, err := os.Stat(filepath.Join(dir, name)); err == nil && st.Size() > 0 {
			last = i
		}
	}
	return last
}
