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

// Until says when Read may stop before a read returns nothing.
type Until int

const (
	// End reads until a read returns nothing.
	End Until = iota
	// Short stops at a read that did not fill the buffer: for a regular
	// file that does not change while it is read (one under a lock).
	Short
	// ShortLine stops at a read that did not fill the buffer and ended in
	// a newline: a /proc file produced whole by one read, as
	// /proc/<pid>/stat is.
	ShortLine
)

// Read reads fd from its offset into buf, grown as needed, until a read
// returns nothing or, by until, what was read is the whole content. The
// rule is a value, not a callback, so that buf does not escape: a caller's
// array stays on its stack.
func Read(fd int, buf []byte, until Until) ([]byte, error) {
	n := 0
	for {
		if n == len(buf) {
			buf = grow(buf)
		}
		m, err := unix.Read(fd, buf[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		n += m
		if m == 0 || until.whole(buf[:n], n == len(buf)) {
			return buf[:n], nil
		}
	}
}

func (u Until) whole(got []byte, full bool) bool {
	switch u {
	case Short:
		return !full
	case ShortLine:
		return !full && got[len(got)-1] == '\n'
	}
	return false
}

// Write writes data whole at fd's offset (at the end for a file opened
// with O_APPEND, where one write is placed whole).
func Write(fd int, data []byte) error {
	for {
		n, err := unix.Write(fd, data)
		if err == unix.EINTR {
			continue
		}
		if err == nil && n != len(data) {
			err = io.ErrShortWrite
		}
		return err
	}
}

// WholePage is data followed by zeros up to a multiple of the page size.
// Writing a whole page of a file, then cutting the file to data, spares
// the kernel the read from disk that a write of part of a page it has
// dropped from its cache costs first.
func WholePage(data []byte) []byte {
	ps := os.Getpagesize()
	return append(data, make([]byte, (ps-len(data)%ps)%ps)...)
}

// grow returns a buffer twice as large (at least 512 bytes) holding b.
// Copying, not appending, keeps a caller's buffer on its stack: an append
// there would make the compiler move every caller's array to the heap, a
// fresh page of memory per read where page faults are dear.
func grow(b []byte) []byte {
	g := make([]byte, max(2*len(b), 512))
	copy(g, b)
	return g
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

// ReadShared reads the file at path into buf (grown as needed) under a
// shared flock of it, so that a writer that changes the file in place
// under an exclusive one is read before or after, never halfway. A short
// read of a regular file is its end, and under the lock the file does not
// change. Errors are *os.PathError.
func ReadShared(path string, buf []byte) ([]byte, error) {
	fd, err := Open(path, unix.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	if err := Flock(fd, unix.LOCK_SH); err != nil {
		return nil, &os.PathError{Op: "flock", Path: path, Err: err}
	}
	data, err := Read(fd, buf, Short)
	if err != nil {
		return nil, &os.PathError{Op: "read", Path: path, Err: err}
	}
	return data, nil
}
