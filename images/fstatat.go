//go:build amd64 || arm64

package images

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// fstatatNUL is fstatat(dirfd, name, st, AT_SYMLINK_NOFOLLOW) for a name
// whose bytes are followed by a NUL in memory (a context walk's names
// are), so that nothing is allocated to terminate it: unix.Fstatat copies
// every name into a fresh C string, 1,000 allocations for 1,000 files.
func fstatatNUL(dirfd int, name string, st *unix.Stat_t) error {
	_, _, e := unix.Syscall6(sysFstatat, uintptr(dirfd), uintptr(unsafe.Pointer(unsafe.StringData(name))),
		uintptr(unsafe.Pointer(st)), unix.AT_SYMLINK_NOFOLLOW, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}
