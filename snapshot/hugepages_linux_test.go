//go:build linux

package snapshot

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/rs/zerolog"

	"bucketd/engine"
)

// TestLoadHugePages checks adviseLoad's rule (hugepages_linux.go) in fresh
// processes, whose heaps are small as a server's is at start-up, loading a
// snapshot of 100,000 records through Open and through LoadImage (a
// replicated node's Raft snapshot): with huge pages asked for and the
// system's "madvise", the load gets huge pages inside the range it
// advised; not asked for, it gets none (nothing else in the process asks
// for them); and after the load no range is left advised MADV_HUGEPAGE,
// whatever the setting.
func TestLoadHugePages(t *testing.T) {
	if dir := os.Getenv("SNAPSHOT_HUGEPAGES_CHILD"); dir != "" {
		hugeLoadMin = 1 << 20
		on := os.Getenv("SNAPSHOT_HUGEPAGES_ON") == "1"
		advised := int64(-1) // LoadImage does not say
		if os.Getenv("SNAPSHOT_HUGEPAGES_IMAGE") == "1" {
			names, _ := filepath.Glob(filepath.Join(dir, "snapshot.*.bdb"))
			if len(names) != 1 {
				fmt.Printf("RESULT error snapshots %q\n", names)
				return
			}
			data, err := os.ReadFile(names[0])
			if err == nil {
				err = LoadImage(engine.New(engine.Options{}), (&fakeQueries{defs: map[string]string{}}).hooks(), Functions{}, data, zerolog.Nop(), on)
			}
			if err != nil {
				fmt.Printf("RESULT error %v\n", err)
				return
			}
		} else {
			o, err := openDir(dir, FsyncNo, nil, func(opts *Options) { opts.HugePages = on })
			if err != nil {
				fmt.Printf("RESULT error %v\n", err)
				return
			}
			defer o.p.Close(false)
			advised = o.p.hugeAdvised
		}
		left, hugeAdvised, huge := smapsFacts(t)
		fmt.Printf("RESULT advised=%d left=%d hugeAdvised=%d huge=%d\n", advised, left, hugeAdvised, huge)
		return
	}
	t.Parallel()
	dir := benchLoadDir(t, 100_000, true)
	mode := thpMode()
	for _, tc := range []struct {
		name      string
		on, image bool
	}{{"Open", true, false}, {"Open off", false, false}, {"LoadImage", true, true}, {"LoadImage off", false, true}} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestLoadHugePages$", "-test.count=1")
		cmd.Env = append(os.Environ(), "SNAPSHOT_HUGEPAGES_CHILD="+dir,
			"SNAPSHOT_HUGEPAGES_ON="+map[bool]string{true: "1"}[tc.on], "SNAPSHOT_HUGEPAGES_IMAGE="+map[bool]string{true: "1"}[tc.image])
		out, err := cmd.CombinedOutput()
		i := bytes.Index(out, []byte("RESULT "))
		if err != nil || i < 0 {
			t.Fatalf("%s: child: %v\n%s", tc.name, err, out)
		}
		var advised, left, hugeAdvised, huge int64
		if _, err := fmt.Sscanf(string(out[i:]), "RESULT advised=%d left=%d hugeAdvised=%d huge=%d", &advised, &left, &hugeAdvised, &huge); err != nil {
			t.Fatalf("%s: child: %s", tc.name, out[i:])
		}
		t.Logf("THP %q, %s: advised %d bytes (-1: not said), %d kB huge in the advised range, %d kB huge in all", mode, tc.name, advised, hugeAdvised, huge)
		if left != 0 {
			t.Errorf("%s: %d ranges left advised MADV_HUGEPAGE after the load", tc.name, left)
		}
		switch {
		case mode != "madvise":
			if advised > 0 {
				t.Errorf("THP %q, %s: %d bytes advised, want none", mode, tc.name, advised)
			}
		case tc.on && (advised == 0 || hugeAdvised == 0):
			if !kernelGivesHugePage(t) {
				t.Skipf("%s: no huge page in the load, and none for a plain 4 MiB mapping either: the kernel has none to give now", tc.name)
			}
			t.Errorf("%s: advised %d bytes, %d kB of huge pages in the range; want both", tc.name, advised, hugeAdvised)
		case !tc.on && (advised > 0 || huge != 0):
			t.Errorf("%s: advised %d bytes, %d kB of huge pages; want none", tc.name, advised, huge)
		}
	}
}

// TestBlockSize: the block is the estimate, at most half of the machine's
// memory, and none when that leaves less than hugeLoadMin.
func TestBlockSize(t *testing.T) {
	const gib = 1 << 30
	for _, tc := range []struct{ estimate, total, want int64 }{
		{500 << 20, 24 * gib, 500 << 20},
		{40 * gib, 24 * gib, 12 * gib},
		{hugeLoadMin, 24 * gib, hugeLoadMin},
		{hugeLoadMin - 1, 24 * gib, 0},
		{gib, 100 << 20, 0}, // half of the machine is under the minimum
		{gib, 0, 0},         // the machine's memory unknown
	} {
		if got := blockSize(tc.estimate, tc.total); got != tc.want {
			t.Errorf("blockSize(%d, %d) = %d, want %d", tc.estimate, tc.total, got, tc.want)
		}
	}
}

// kernelGivesHugePage reports whether the kernel maps a huge page now into
// a fresh anonymous mapping advised MADV_HUGEPAGE and touched: when it does
// not (memory too fragmented, defrag off), a load without huge pages is not
// adviseLoad's fault.
func kernelGivesHugePage(t *testing.T) bool {
	m, err := syscall.Mmap(-1, 0, 8<<20, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Munmap(m)
	if err := syscall.Madvise(m, madvHugepage); err != nil {
		return false
	}
	for i := 0; i < len(m); i += 4096 {
		m[i] = 1
	}
	_, _, huge := smapsFacts(t)
	return huge > 0
}

// smapsFacts reads /proc/self/smaps: the ranges advised MADV_HUGEPAGE
// (VmFlags hg), the kB of anonymous huge pages in ranges advised
// MADV_NOHUGEPAGE (nh: adviseLoad's, after the load), and in all.
func smapsFacts(t *testing.T) (left, hugeAdvised, huge int64) {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rangeHuge int64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "AnonHugePages:"); ok {
			rangeHuge, _ = strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			huge += rangeHuge
		}
		if rest, ok := strings.CutPrefix(line, "VmFlags:"); ok {
			flags := strings.Fields(rest)
			for _, fl := range flags {
				switch fl {
				case "hg":
					left++
				case "nh":
					hugeAdvised += rangeHuge
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return left, hugeAdvised, huge
}
