package rawfile

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// A file larger than the buffer is read whole; a whole that says the
// content is complete after a short read stops there; a missing file is an
// *os.PathError naming it.
func TestReadWriteAt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	data := bytes.Repeat([]byte("0123456789abcdef"), 300) // 4,800 bytes
	fd, err := Open(path, unix.O_RDWR|unix.O_CREAT, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := WriteAt(fd, data, 0); err != nil {
		t.Fatal(err)
	}
	if err := Flock(fd, unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	got, err := Read(fd, make([]byte, 100), nil)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("Read to the end: %d bytes, %v; want %d", len(got), err, len(data))
	}
	r, err := Open(path, unix.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(r)
	calls := 0
	got, err = Read(r, make([]byte, 8192), func(b []byte, full bool) bool { calls++; return !full })
	if err != nil || !bytes.Equal(got, data) || calls != 1 {
		t.Fatalf("one short read: %d bytes, %v, %d calls", len(got), err, calls)
	}
	var pe *os.PathError
	if _, err := Open(filepath.Join(t.TempDir(), "none"), unix.O_RDONLY, 0); !errors.As(err, &pe) || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Open of a missing file: %v", err)
	}
}
