package main

import (
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// closeInheritedFDs closes every descriptor above 2 that came through the
// exec that started this process, except keep. The supervisor lives on
// after the command that spawned it: a descriptor it inherited (a shell's
// flock, the write end of a CI job's pipe) would stay held, and be passed
// on to every service it launches, for as long as it runs. Descriptors
// Go and berth open carry FD_CLOEXEC; the ones without it were inherited.
func closeInheritedFDs(keep int) {
	d, err := os.Open("/proc/self/fd")
	if err != nil {
		return
	}
	names, _ := d.Readdirnames(-1)
	self := int(d.Fd())
	var stray []int
	for _, n := range names {
		fd, err := strconv.Atoi(n)
		if err != nil || fd <= 2 || fd == keep || fd == self {
			continue
		}
		if flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err == nil && flags&unix.FD_CLOEXEC == 0 {
			stray = append(stray, fd)
		}
	}
	d.Close()
	for _, fd := range stray {
		syscall.Close(fd)
	}
}
