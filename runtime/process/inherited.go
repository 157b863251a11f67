package process

import (
	"os"
	"strconv"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// Descriptors Go and berth open carry FD_CLOEXEC; the ones above 2 without
// it came through the exec that started this process (a shell's `exec
// 9>lock`, the write end of a CI job's pipe). os/exec passes them on to
// every child, so a service would hold them for as long as it runs: the
// lock stays taken, the pipe never ends.

// inheritedFDs lists the descriptors above 2 without FD_CLOEXEC, but keep.
func inheritedFDs(keep int) []int {
	d, err := os.Open("/proc/self/fd")
	if err != nil {
		return nil
	}
	defer d.Close()
	names, _ := d.Readdirnames(-1)
	self := int(d.Fd())
	var out []int
	for _, n := range names {
		fd, err := strconv.Atoi(n)
		if err != nil || fd <= 2 || fd == keep || fd == self {
			continue
		}
		if flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err == nil && flags&unix.FD_CLOEXEC == 0 {
			out = append(out, fd)
		}
	}
	return out
}

// CloseInherited closes every inherited descriptor but keep: for the
// supervisor, which lives on after the command that spawned it and would
// otherwise hold them itself.
func CloseInherited(keep int) {
	for _, fd := range inheritedFDs(keep) {
		syscall.Close(fd)
	}
}

var cloexecOnce sync.Once

// cloexecInherited marks the inherited descriptors close-on-exec before
// the first detached launch of this process: the command keeps them, its
// services do not get them.
func cloexecInherited() {
	cloexecOnce.Do(func() {
		for _, fd := range inheritedFDs(-1) {
			unix.CloseOnExec(fd)
		}
	})
}
