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
// so a killed berth never leaves a lock someone must delete by hand.
type FileLock struct{ f *os.File }

// Lock waits for the exclusive lock on path, creating the file (and its
// directory) if needed.
func Lock(path string) (*FileLock, error) { return lockFile(path, true) }

// TryLock takes the exclusive lock on path or fails at once with ErrLocked.
func TryLock(path string) (*FileLock, error) { return lockFile(path, false) }

func lockFile(path string, wait bool) (*FileLock, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	how := unix.LOCK_EX
	if !wait {
		how |= unix.LOCK_NB
	}
	if err = rawfile.Flock(int(f.Fd()), how); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s: %w", path, ErrLocked)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return &FileLock{f: f}, nil
}

// File is the open lock file, for a holder that records who it is.
func (l *FileLock) File() *os.File { return l.f }

// Unlock releases the lock.
func (l *FileLock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}
