//go:build linux

package snapshot

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// TestLoadHugePages checks adviseLoad's rule (hugepages_linux.go) in fresh
// processes, whose heaps are small as a server's is at start-up, loading a
// snapshot of 100,000 records: with HugePages set and the system's huge
// pages "madvise", the load gets huge pages inside the range it advised;
// with HugePages off it gets none (nothing else in the process asks for
// them); and after Open no range is left advised MADV_HUGEPAGE, whatever
// the setting.
func TestLoadHugePages(t *testing.T) {
	if dir := os.Getenv("SNAPSHOT_HUGEPAGES_CHILD"); dir != "" {
		hugeLoadMin = 1 << 20
		o, err := openDir(dir, FsyncNo, nil, func(opts *Options) { opts.HugePages = os.Getenv("SNAPSHOT_HUGEPAGES_ON") == "1" })
		if err != nil {
			fmt.Printf("RESULT error %v\n", err)
			return
		}
		left, hugeAdvised, huge := smapsFacts(t)
		fmt.Printf("RESULT advised=%d left=%d hugeAdvised=%d huge=%d\n", o.p.hugeAdvised, left, hugeAdvised, huge)
		o.p.Close(false)
		return
	}
	t.Parallel()
	dir := benchLoadDir(t, 100_000, true)
	mode := thpMode()
	for _, on := range []bool{true, false} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestLoadHugePages$", "-test.count=1")
		cmd.Env = append(os.Environ(), "SNAPSHOT_HUGEPAGES_CHILD="+dir, "SNAPSHOT_HUGEPAGES_ON="+map[bool]string{true: "1"}[on])
		out, err := cmd.CombinedOutput()
		i := bytes.Index(out, []byte("RESULT "))
		if err != nil || i < 0 {
			t.Fatalf("child (HugePages %v): %v\n%s", on, err, out)
		}
		var advised, left, hugeAdvised, huge int64
		if _, err := fmt.Sscanf(string(out[i:]), "RESULT advised=%d left=%d hugeAdvised=%d huge=%d", &advised, &left, &hugeAdvised, &huge); err != nil {
			t.Fatalf("child (HugePages %v): %s", on, out[i:])
		}
		t.Logf("THP %q, HugePages %v: advised %d bytes, %d kB huge in the advised range, %d kB huge in all", mode, on, advised, hugeAdvised, huge)
		if left != 0 {
			t.Errorf("HugePages %v: %d ranges left advised MADV_HUGEPAGE after Open", on, left)
		}
		switch {
		case mode != "madvise":
			if advised != 0 {
				t.Errorf("THP %q: %d bytes advised, want none", mode, advised)
			}
		case on && (advised == 0 || hugeAdvised == 0):
			t.Errorf("HugePages on: advised %d bytes, %d kB of huge pages in the range; want both", advised, hugeAdvised)
		case !on && (advised != 0 || huge != 0):
			t.Errorf("HugePages off: advised %d bytes, %d kB of huge pages; want none", advised, huge)
		}
	}
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
