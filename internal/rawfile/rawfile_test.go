package rawfile

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// A file larger than the buffer is read whole; a rule that says the
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
	got, err := Read(fd, make([]byte, 100), End)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("Read to the end: %d bytes, %v; want %d", len(got), err, len(data))
	}
	// Short and ShortLine stop at the first read that does not fill the
	// buffer: read from a pipe whose writer stays open, a read past that
	// point would block for ever.
	for _, c := range []struct {
		until Until
		write string
		want  string
	}{{Short, "no newline", "no newline"}, {ShortLine, "a line\n", "a line\n"}} {
		var p [2]int
		if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
			t.Fatal(err)
		}
		if _, err := unix.Write(p[1], []byte(c.write)); err != nil {
			t.Fatal(err)
		}
		got, err := Read(p[0], make([]byte, 8192), c.until)
		unix.Close(p[0])
		unix.Close(p[1])
		if err != nil || string(got) != c.want {
			t.Fatalf("until %d: %q, %v", c.until, got, err)
		}
	}
	// A buffer that fills is grown and read on, whatever the rule.
	r, err := Open(path, unix.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(r)
	var small [64]byte
	got, err = Read(r, small[:], Short)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("Short from a 64-byte buffer: %d bytes, %v", len(got), err)
	}
	var pe *os.PathError
	if _, err := Open(filepath.Join(t.TempDir(), "none"), unix.O_RDONLY, 0); !errors.As(err, &pe) || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Open of a missing file: %v", err)
	}
}

// Write appends whole to a file opened for appending; WholePage keeps the
// data and pads it with zeros to a page.
func TestWriteAndWholePage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	fd, err := Open(path, unix.O_WRONLY|unix.O_CREAT|unix.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{"one\n", "two\n"} {
		if err := Write(fd, []byte(l)); err != nil {
			t.Fatal(err)
		}
	}
	unix.Close(fd)
	if b, _ := os.ReadFile(path); string(b) != "one\ntwo\n" {
		t.Fatalf("appended %q", b)
	}
	ps := os.Getpagesize()
	for _, n := range []int{0, 1, ps - 1, ps, ps + 1} {
		data := bytes.Repeat([]byte("x"), n)
		p := WholePage(bytes.Clone(data))
		if len(p)%ps != 0 || !bytes.Equal(p[:n], data) || bytes.ContainsRune(p[n:], 'x') || len(p)-n >= ps {
			t.Errorf("WholePage of %d bytes: %d bytes", n, len(p))
		}
	}
}
