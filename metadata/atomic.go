package metadata

import (
	"fmt"
	"os"
	"path/filepath"
)

// WriteFileAtomic writes data to path whole or not at all: a temporary file
// in the same directory is written, synced and renamed over path, so a reader
// (or a berth killed half-way) never sees a partial file. The directory is
// synced too, so the rename survives a crash.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	return writeFileWhole(path, data, perm, true)
}

// ReplaceFile writes data to path whole or not at all, for every reader, as
// WriteFileAtomic does, but does not wait for the disk: for records of
// processes (PID files), which no more outlive a crash of the machine than
// the processes they name. After such a crash the file may be empty, which
// readers already treat as a record they cannot read.
func ReplaceFile(path string, data []byte, perm os.FileMode) error {
	return writeFileWhole(path, data, perm, false)
}

func writeFileWhole(path string, data []byte, perm os.FileMode, durable bool) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmpName := tmp.Name()
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmpName)
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(perm); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if durable {
		if err := tmp.Sync(); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmpName, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	ok = true
	if !durable {
		return nil
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
