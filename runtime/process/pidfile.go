package process

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/berthdev/berth/internal/rawfile"
	"github.com/berthdev/berth/metadata"
	"github.com/berthdev/berth/runtime"
)

// A PID file is one JSON object (runtime.Handle) with pid, pgid, the
// kernel start time, the environment and the launch token. A file holding
// only a decimal PID, as the OQTOPUS CLI writes, is read too: it counts
// only when its process is shown to be the service (see identity.go).

func pidPath(svc *runtime.Service) string {
	return filepath.Join(svc.StateDir, svc.Name+pidSuffix)
}

const pidSuffix = ".pid"

// IsPIDFileName says whether a file of the PID directory is a service's
// PID file (not a spare kept for the next launch, nor a start lock).
func IsPIDFileName(name string) bool { return strings.HasSuffix(name, pidSuffix) }

// pidRecord is a PID file as read.
type pidRecord struct {
	runtime.Handle
	legacy bool
}

// parsePIDFile reads the content of a PID file.
func parsePIDFile(data []byte) (pidRecord, error) {
	t := bytes.TrimSpace(data)
	if len(t) == 0 {
		return pidRecord{}, errors.New("empty PID file")
	}
	if t[0] == '{' {
		var r pidRecord
		var ok bool
		if r.Handle, ok = decodeHandle(t); !ok {
			// A handle of its own: encoding/json's pointer into r moved r
			// to the heap on every read, 160 bytes per PID file.
			var h runtime.Handle
			if err := json.Unmarshal(t, &h); err != nil {
				return pidRecord{}, fmt.Errorf("malformed PID file: %w", err)
			}
			r.Handle = h
		}
		// PID 0 is a pending record: written before its service ran,
		// it names the service by its launch token alone.
		if r.PID < 0 || r.PGID < 0 || (r.PID == 0 && r.Token == "") {
			return pidRecord{}, fmt.Errorf("malformed PID file: pid %d, pgid %d", r.PID, r.PGID)
		}
		return r, nil
	}
	pid, err := strconv.Atoi(string(t))
	if err != nil || pid <= 0 {
		return pidRecord{}, fmt.Errorf("malformed PID file: %q is neither JSON nor a process id", clip(t))
	}
	return pidRecord{Handle: runtime.Handle{PID: pid}, legacy: true}, nil
}

func clip(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "..."
	}
	return string(b)
}

func readPIDFile(path string) (pidRecord, error) {
	buf, done := readBuf()
	defer done()
	data, err := rawfile.ReadShared(path, buf[:])
	if err != nil {
		return pidRecord{}, err
	}
	r, err := parsePIDFile(data)
	if err != nil {
		return pidRecord{}, &garbageError{path, err}
	}
	return r, nil
}

func writePIDFile(path string, h runtime.Handle) error {
	data, err := marshalHandle(h)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	// Not synced to disk: the processes a PID file names do not survive a
	// crash of the machine either, and an empty file left by one reads as
	// a record berth cannot read (start then checks nothing runs).
	return metadata.ReplaceFile(path, append(data, '\n'), 0o644)
}

// completePIDFile completes the pending record at path with h (its PID,
// group and start time) in place: the launch's second write. A file
// replaced whole is a new inode, and on this machine's ext4 (no journal)
// allocating one scans past every inode freed in the last minute, so a
// start and stop of 100 services, four files made and freed per service,
// spent most of the start's CPU there. In place, the record is written
// with one pwrite under an exclusive flock, which readPIDFile waits for,
// so no reader sees half of it; it only grows (the pending record lacks
// pid, pgid and start_time), so a berth killed at any instant leaves the
// pending record or the complete one. Anything else (no file, a longer
// file) is replaced whole, as writePIDFile does.
func completePIDFile(path string, h runtime.Handle) error {
	data, err := marshalHandle(h)
	if err != nil {
		return err
	}
	data = append(data, '\n')
	fd, err := rawfile.Open(path, unix.O_WRONLY, 0)
	if err != nil {
		return writePIDFile(path, h)
	}
	defer unix.Close(fd)
	if err := rawfile.Flock(fd, unix.LOCK_EX); err != nil {
		return writePIDFile(path, h)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Size > int64(len(data)) {
		return writePIDFile(path, h)
	}
	if err := rawfile.WriteAt(fd, data, 0); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// removePIDFile removes path only if it still names the process h, so that a
// slow stop never removes the record of a newer start.
func removePIDFile(path string, h runtime.Handle) error {
	r, err := readPIDFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err == nil && (r.PID != h.PID || (r.StartTime != 0 && h.StartTime != 0 && r.StartTime != h.StartTime)) {
		return nil
	}
	// Kept as the spare of the next launch's pending record rather
	// than freed: see writePendingPIDFile.
	// rename(2) itself: os.Rename first stats the target, to refuse a
	// directory there, which rename(2) refuses as well (the record is
	// then removed below).
	if err := unix.Rename(path, sparePath(path)); err == nil || errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove stale PID file: %w", err)
	}
	return nil
}

// sparePath is where a removed PID file is kept for the next launch.
func sparePath(path string) string {
	dir, base := filepath.Split(path)
	return dir + "." + base + ".spare"
}

// writePendingPIDFile writes h, a launch's pending record, at path whole,
// in the file the last removed record left as a spare: written, then
// renamed into place, so a start and stop of a service neither allocates
// nor frees an inode (see completePIDFile for what that costs here).
// Without a spare, or when the spare is not what was just written once
// renamed (a removal racing this launch put another file there), the
// record is written anew as writePIDFile does; either way it is at path,
// whole, before the service runs.
func writePendingPIDFile(path string, h runtime.Handle) error {
	data, err := marshalHandle(h)
	if err != nil {
		return err
	}
	data = append(data, '\n')
	spare := sparePath(path)
	fd, err := rawfile.Open(spare, unix.O_WRONLY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return writePIDFile(path, h)
	}
	defer unix.Close(fd)
	var st, at unix.Stat_t
	if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG || st.Nlink != 1 {
		return writePIDFile(path, h)
	}
	// A whole page is written, then cut to the record: a write of part of
	// a page the kernel has dropped (an idle spare) reads the page from
	// disk first, one synchronous read per service.
	page := rawfile.WholePage(data)
	if rawfile.WriteAt(fd, page, 0) != nil || unix.Ftruncate(fd, int64(len(data))) != nil || unix.Rename(spare, path) != nil ||
		unix.Stat(path, &at) != nil || at.Ino != st.Ino || at.Dev != st.Dev {
		return writePIDFile(path, h)
	}
	return nil
}

// garbageError is a PID file that cannot be read as one.
type garbageError struct {
	path string
	err  error
}

func (e *garbageError) Error() string { return e.path + ": " + e.err.Error() }
func (e *garbageError) Unwrap() error { return e.err }
