package process

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berthdev/berth/hack/testkit"
	"github.com/berthdev/berth/runtime"
)

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

// The second write of a launch completes the pending record in place: no
// new file (inode) per launch beyond the pending record's.
func TestCompletePIDFileInPlace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "svc.pid")
	pending := runtime.Handle{Service: "svc", Runner: "process", StartedAt: time.Now().UTC().Truncate(time.Millisecond),
		Env: "/env", Token: "tok-1", LogFrom: 7}
	if err := writePIDFile(path, pending); err != nil {
		t.Fatal(err)
	}
	before := inode(t, path)
	done := pending
	done.PID, done.PGID, done.StartTime = 4242, 4242, 123456
	if err := completePIDFile(path, done); err != nil {
		t.Fatal(err)
	}
	if after := inode(t, path); after != before {
		t.Errorf("the record was replaced by a new file (inode %d, was %d): want it completed in place", after, before)
	}
	r, err := readPIDFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if r.Handle != done {
		t.Errorf("record = %+v, want %+v", r.Handle, done)
	}
}

// What cannot be completed in place is replaced whole: a record gone (a
// stop removed it) is written again, and one longer than the new record
// never keeps a tail of the old.
func TestCompletePIDFileFallsBackToWhole(t *testing.T) {
	dir := t.TempDir()
	h := runtime.Handle{Service: "svc", Runner: "process", PID: 10, PGID: 10, StartTime: 99, Token: "t"}
	gone := filepath.Join(dir, "gone.pid")
	if err := completePIDFile(gone, h); err != nil {
		t.Fatal(err)
	}
	if r, err := readPIDFile(gone); err != nil || r.Handle != h {
		t.Errorf("record of a removed file = %+v, %v; want %+v", r.Handle, err, h)
	}
	long := filepath.Join(dir, "long.pid")
	big := h
	big.Env = "/a/much/longer/environment/root/than/the/record/that/follows"
	if err := writePIDFile(long, big); err != nil {
		t.Fatal(err)
	}
	if err := completePIDFile(long, h); err != nil {
		t.Fatal(err)
	}
	if r, err := readPIDFile(long); err != nil || r.Handle != h {
		t.Errorf("record = %+v, %v; want %+v", r.Handle, err, h)
	}
}

// A reader waits while a record is being completed (its writer holds the
// file's exclusive flock), so it never reads half of it.
func TestReadPIDFileWaitsForWriter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "svc.pid")
	h := runtime.Handle{Service: "svc", Runner: "process", PID: 10, PGID: 10, StartTime: 99, Token: "t"}
	if err := writePIDFile(path, h); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	read := make(chan error, 1)
	go func() {
		_, err := readPIDFile(path)
		read <- err
	}()
	select {
	case err := <-read:
		t.Fatalf("readPIDFile returned (%v) while the writer held the lock", err)
	case <-time.After(100 * time.Millisecond):
	}
	unix.Flock(int(f.Fd()), unix.LOCK_UN)
	select {
	case err := <-read:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("readPIDFile still waits after the lock was released")
	}
}

// A start and stop of a service neither makes nor frees a file once it has
// run once: the removed record is kept as the spare the next launch's
// pending record is written in.
func TestPIDFileReusedAcrossLaunches(t *testing.T) {
	path := filepath.Join(t.TempDir(), "svc.pid")
	pending := runtime.Handle{Service: "svc", Runner: "process", Env: "/env", Token: "tok-1"}
	if err := writePendingPIDFile(path, pending); err != nil {
		t.Fatal(err)
	}
	first := inode(t, path)
	done := pending
	done.PID, done.PGID, done.StartTime = 4242, 4242, 123456
	if err := completePIDFile(path, done); err != nil {
		t.Fatal(err)
	}
	if err := removePIDFile(path, done); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("PID file after its removal: %v", err)
	}
	next := runtime.Handle{Service: "svc", Runner: "process", Env: "/env", Token: "tok-2"}
	if err := writePendingPIDFile(path, next); err != nil {
		t.Fatal(err)
	}
	if got := inode(t, path); got != first {
		t.Errorf("second launch's record is a new file (inode %d): want the removed one (%d) reused", got, first)
	}
	// The complete record was longer: nothing of it is left.
	if r, err := readPIDFile(path); err != nil || r.Handle != next {
		t.Errorf("record = %+v, %v; want %+v", r.Handle, err, next)
	}
}

// A spare that is not a plain file of its own (a symbolic link, a second
// name of another file) is never written through.
func TestPendingPIDFileSpareNotFollowed(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "svc.pid")
	victim := filepath.Join(dir, "victim")
	h := runtime.Handle{Service: "svc", Runner: "process", Env: "/env", Token: "tok"}
	for _, mk := range []func() error{
		func() error { return os.Symlink(victim, sparePath(path)) },
		func() error { return os.Link(victim, sparePath(path)) },
	} {
		os.Remove(path)
		os.Remove(sparePath(path))
		if err := os.WriteFile(victim, []byte("keep me\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := mk(); err != nil {
			t.Fatal(err)
		}
		if err := writePendingPIDFile(path, h); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(victim); string(b) != "keep me\n" {
			t.Errorf("victim = %q: written through the spare", b)
		}
		if r, err := readPIDFile(path); err != nil || r.Handle != h {
			t.Errorf("record = %+v, %v; want %+v", r.Handle, err, h)
		}
	}
}

// A spare the kernel has dropped from its page cache (idle for a while)
// is written without reading it from disk first.
func TestPendingPIDFileReadsNoDroppedPage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "svc.pid")
	h := runtime.Handle{Service: "svc", Runner: "process", PID: 10, PGID: 10, StartTime: 99, Env: "/env", Token: "tok-1"}
	if err := writePIDFile(path, h); err != nil {
		t.Fatal(err)
	}
	if err := removePIDFile(path, h); err != nil {
		t.Fatal(err)
	}
	testkit.DropFromCache(t, sparePath(path))
	before := testkit.ReadBytes(t)
	next := runtime.Handle{Service: "svc", Runner: "process", Env: "/env", Token: "tok-2"}
	if err := writePendingPIDFile(path, next); err != nil {
		t.Fatal(err)
	}
	if read := testkit.ReadBytes(t) - before; read != 0 {
		t.Errorf("writing the pending record read %d bytes from disk", read)
	}
	if r, err := readPIDFile(path); err != nil || r.Handle != next {
		t.Errorf("record = %+v, %v; want %+v", r.Handle, err, next)
	}
}
