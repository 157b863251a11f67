package hugeheap

import (
	"strings"
	"syscall"
	"unsafe"
)

const (
	hugePage = 2 << 20 // x86-64's and arm64's (4 KiB pages) PMD size
	// heapChunk is how much heap Go's runtime maps at a time
	// (pallocChunkBytes): the heap grows by aligned 4 MiB chunks.
	heapChunk = 4 << 20

	madvHugepage = 14 // MADV_HUGEPAGE
	madvCollapse = 25 // MADV_COLLAPSE, Linux 6.1
)

// probe is a heap object whose address says where the heap ends now.
var probe *[2]uintptr

func init() {
	if v, _ := syscall.Getenv("BERTH_HUGEHEAP"); v == "0" || !allowed() {
		return
	}
	probe = new([2]uintptr)
	p := uintptr(unsafe.Pointer(probe))
	advise(p)
	if left := alignDown(p, heapChunk) + heapChunk - p; left < hugePage {
		// Too little is left for the start of a berth run. Allocating it
		// (never touched: fresh memory needs no zeroing) makes the runtime
		// map the next chunk now, where what follows is allocated. The
		// object is garbage at once; a GC frees it like any other.
		rest := make([]byte, left)
		advise(uintptr(unsafe.Pointer(&rest[0])) + left - 1)
	}
	probe = nil
}

// advise asks for huge pages for the heap chunk holding p, from the huge
// page holding p on, and collapses that huge page now: pages of it already
// touched would otherwise keep it small.
func advise(p uintptr) {
	from := alignDown(p, hugePage)
	to := alignDown(p, heapChunk) + heapChunk
	madvise(from, to-from, madvHugepage)
	madvise(from, hugePage, madvCollapse)
}

func madvise(addr, n, advice uintptr) {
	// Errors are ignored: the advice is only advice (EINVAL from a kernel
	// without MADV_COLLAPSE, EAGAIN when no huge page could be had).
	syscall.Syscall(syscall.SYS_MADVISE, addr, n, advice)
}

func alignDown(p, n uintptr) uintptr { return p &^ (n - 1) }

// allowed honours the system's and the user's word against huge pages:
// MADV_COLLAPSE works even where the THP mode is "never", and the advice
// would undo Go's GODEBUG=disablethp=1.
func allowed() bool {
	if g, _ := syscall.Getenv("GODEBUG"); strings.Contains(","+g+",", ",disablethp=1,") {
		return false
	}
	fd, err := syscall.Open("/sys/kernel/mm/transparent_hugepage/enabled", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer syscall.Close(fd)
	var buf [64]byte
	n, _ := syscall.Read(fd, buf[:])
	return n > 0 && !strings.Contains(string(buf[:n]), "[never]")
}
