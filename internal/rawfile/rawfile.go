// Package rawfile opens, locks, reads and writes small files with plain
// system calls, each retried on EINTR. berth's hot files (PID files,
// /proc entries, supervisor records) are read and written this way: three
// system calls per read where os.ReadFile makes about eight and offers the
// file to the poller, which a regular file refuses.
package rawfile

import (
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// Open opens path with flags and O_CLOEXEC; an error is an *os.PathError.
func Open(path string, flags int, perm uint32) (int, error) {
	for {
		fd, err := unix.Open(path, flags|unix.O_CLOEXEC, perm)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return -1, &os.PathError{Op: "open", Path: path, Err: err}
		}
		return fd, nil
	}
}

// Flock takes (or, with LOCK_UN, releases) an flock of fd.
func Flock(fd, how int) error {
	for {
		if err := unix.Flock(fd, how); err != unix.EINTR {
			return err
		}
	}
}

// Read reads fd from its offset into buf, grown as needed, until a read
// returns nothing or whole(got, full) says what was read is the whole
// content (full: the last read filled buf, so more may follow). A nil
// whole reads to the end.
func Read(fd int, buf []byte, whole func(got []byte, full bool) bool) ([]byte, error) {
	n := 0
	for {
		if n == len(buf) {
			buf = append(buf, make([]byte, max(len(buf), 512))...)
		}
		m, err := unix.Read(fd, buf[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		n += m
		if m == 0 || (whole != nil && whole(buf[:n], n == len(buf))) {
			return buf[:n], nil
		}
	}
}

// WriteAt writes data whole at offset off.
func WriteAt(fd int, data []byte, off int64) error {
	for {
		n, err := unix.Pwrite(fd, data, off)
		if err == unix.EINTR {
			continue
		}
		if err == nil && n != len(data) {
			err = io.ErrShortWrite
		}
		return err
	}
}
