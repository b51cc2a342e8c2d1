//go:build linux

package snapshot

import (
	"bytes"
	"os"
	"runtime"
	"strings"
	"syscall"
	"unsafe"
)

// Huge pages for the load. The rule: a load's new heap is laid on huge
// pages where the system gives them only on request, and the request ends
// with the load.
//
// Start-up is bound by page faults: a million records (bench/persist) fault
// in about 110,000 pages of 4 KiB of new heap, each first touch costing
// about 8 µs on the VM measured, a quarter of the load's CPU; following the
// records' pointers then walks page tables of small pages. Where
// transparent huge pages are "madvise" (the default of most distributions),
// Go's heap never gets them: the runtime asks for none. adviseLoad
// allocates one block of the heap the load is expected to need, advises it
// MADV_HUGEPAGE, and frees it before anything is loaded. The load's objects
// are then carved from those pages (the runtime's page allocator takes the
// lowest free addresses first, and the block was allocated at the top of a
// small heap); they are untouched until then (the runtime zeroes none of a
// block fresh from the system), so each first touch of 2 MiB maps one huge
// page. In A/B runs on 2 cores, start-up with a million records from the
// snapshot went from 1.8–2.0 s to 1.2–1.6 s (its CPU from 3.4–3.7 s to
// 2.2–2.8 s), and from the append-only file alone from 2.7–2.9 s to
// 2.2–2.3 s, with the same RSS after a GC (docs/persistence.md).
//
// The returned func advises the block MADV_NOHUGEPAGE, which under
// "madvise" is the default's behaviour: the pages already huge stay, later
// faults map small pages, and khugepaged never collapses the range (it
// would fill partly freed 2 MiB ranges and let RSS grow past what is used).
// TestLoadHugePages checks, in a fresh process, that the load got huge
// pages in the block and that no range is left advised.
//
// Nothing is done when the data is small (hugeLoadMin), when huge pages are
// "always" (the heap has them already) or "never", or under strict
// overcommit (vm.overcommit_memory 2), where mapping the block could fail,
// and the runtime dies of a failed mapping. The block is never over half of
// the machine's memory, which keeps the mapping within what the kernel's
// default overcommit allows; it is address space only, and its pages that
// the load never touches never take memory.
func adviseLoad(estimate int64) (advised int64, done func()) {
	done = func() {}
	if estimate < hugeLoadMin || thpMode() != "madvise" || sysctl("/proc/sys/vm/overcommit_memory") == "2" {
		return 0, done
	}
	var si syscall.Sysinfo_t
	if syscall.Sysinfo(&si) != nil {
		return 0, done
	}
	n := blockSize(estimate, int64(si.Totalram)*int64(si.Unit))
	if n == 0 {
		return 0, done
	}
	block := make([]byte, n)
	if syscall.Madvise(block, madvHugepage) != nil {
		return 0, done
	}
	addr, size := uintptr(unsafe.Pointer(unsafe.SliceData(block))), len(block)
	block = nil
	runtime.GC() // frees the block: its pages go back to the heap, untouched
	return int64(size), func() {
		// The range is the heap's for good (the runtime never unmaps it):
		// advising it again touches no object.
		syscall.Syscall(syscall.SYS_MADVISE, addr, uintptr(size), madvNohugepage)
	}
}

// blockSize returns the block adviseLoad allocates for the heap estimate
// on a machine of total bytes of memory: at most half of it, and 0 (none)
// when that leaves less than hugeLoadMin.
func blockSize(estimate, total int64) int64 {
	n := min(estimate, total/2)
	if n < hugeLoadMin {
		return 0
	}
	return n
}

const (
	madvHugepage   = 14 // MADV_HUGEPAGE
	madvNohugepage = 15 // MADV_NOHUGEPAGE
)

// hugeLoadMin is the smallest expected heap worth the advice: under it the
// faults cost less than a millisecond or two. Tests lower it.
var hugeLoadMin int64 = 64 << 20

// thpMode returns the bracketed word of the transparent huge page setting
// ("always", "madvise" or "never"), or "" when it cannot be read.
func thpMode() string {
	s := sysctl("/sys/kernel/mm/transparent_hugepage/enabled")
	i, j := strings.IndexByte(s, '['), strings.IndexByte(s, ']')
	if i < 0 || j < i {
		return ""
	}
	return s[i+1 : j]
}

// sysctl returns the first line of a kernel setting's file, or "".
func sysctl(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	return string(bytes.TrimSpace(line))
}
