package metadata

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/berthdev/berth/internal/rawfile"
)

// ErrLocked is returned by TryLock when another process holds the lock.
var ErrLocked = errors.New("locked by another process")

// FileLock is an flock(2) lock: the kernel releases it when the holder dies,
// so a killed berth never leaves a lock someone must delete by hand. It is
// a plain descriptor (internal/rawfile): an os.File offered the lock file to
// the poller and set it back to blocking for the flock, six system calls
// more per lock, and a start takes one lock per service.
type FileLock struct {
	fd   int
	held bool
}

// Lock waits for the exclusive lock on path, creating the file (and its
// directory) if needed.
func Lock(path string) (*FileLock, error) { return lockFile(path, true) }

// TryLock takes the exclusive lock on path or fails at once with ErrLocked.
func TryLock(path string) (*FileLock, error) { return lockFile(path, false) }

func lockFile(path string, wait bool) (*FileLock, error) {
	const flags = unix.O_RDWR | unix.O_CREAT
	fd, err := rawfile.Open(path, flags, 0o644)
	if errors.Is(err, os.ErrNotExist) {
		// The directory is made only when missing: a stat of each of
		// its parents per lock otherwise.
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		fd, err = rawfile.Open(path, flags, 0o644)
	}
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	how := unix.LOCK_EX
	if !wait {
		how |= unix.LOCK_NB
	}
	if err = rawfile.Flock(fd, how); err != nil {
		unix.Close(fd)
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s: %w", path, ErrLocked)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return &FileLock{fd: fd, held: true}, nil
}

// Fd is the open lock file, for a holder that records who it is.
func (l *FileLock) Fd() int { return l.fd }

// Unlock releases the lock.
func (l *FileLock) Unlock() error {
	if l == nil || !l.held {
		return nil
	}
	l.held = false
	return unix.Close(l.fd)
}
