package process

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/berthdev/berth/metadata"
	"github.com/berthdev/berth/runtime"
)

// A PID file is one JSON object (runtime.Handle) with pid, pgid and the
// kernel start time. A file holding only a decimal PID, as the OQTOPUS CLI
// writes, is read too: then the process group is taken from /proc and a
// process that started after the file was written counts as a reused PID.

func pidPath(svc *runtime.Service) string {
	return filepath.Join(svc.StateDir, svc.Name+".pid")
}

// pidRecord is a PID file as read: the handle and, for a legacy file, its
// modification time.
type pidRecord struct {
	runtime.Handle
	legacy  bool
	written time.Time
}

// parsePIDFile reads the content of a PID file.
func parsePIDFile(data []byte) (pidRecord, error) {
	t := bytes.TrimSpace(data)
	if len(t) == 0 {
		return pidRecord{}, errors.New("empty PID file")
	}
	if t[0] == '{' {
		var r pidRecord
		if err := json.Unmarshal(t, &r.Handle); err != nil {
			return pidRecord{}, fmt.Errorf("malformed PID file: %w", err)
		}
		if r.PID <= 0 || r.PGID < 0 {
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
	data, err := os.ReadFile(path)
	if err != nil {
		return pidRecord{}, err
	}
	r, err := parsePIDFile(data)
	if err != nil {
		return pidRecord{}, fmt.Errorf("%s: %w", path, err)
	}
	if r.legacy {
		if fi, err := os.Stat(path); err == nil {
			r.written = fi.ModTime()
		}
	}
	return r, nil
}

func writePIDFile(path string, h runtime.Handle) error {
	data, err := json.Marshal(h)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return metadata.WriteFileAtomic(path, append(data, '\n'), 0o644)
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
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove stale PID file: %w", err)
	}
	return nil
}

// legacySlack allows for clock granularity between a process's start and the
// moment the OQTOPUS CLI wrote its PID file.
const legacySlack = time.Second

// resolve completes a record from /proc: whether it names a live process
// that is the one recorded, and its start time and group for a legacy file.
func resolveRecord(r pidRecord) (h runtime.Handle, running bool, reason string) {
	h = r.Handle
	st, err := readStat(h.PID)
	if err != nil || st.State == 'Z' || st.State == 'X' {
		return h, false, fmt.Sprintf("process %d has exited", h.PID)
	}
	if r.legacy {
		// A reused PID keeps StartTime 0, which Stop never signals.
		if at := startedAt(st.StartTime); !r.written.IsZero() && at.After(r.written.Add(legacySlack)) {
			return h, false, fmt.Sprintf("PID %d now belongs to another process (started after the PID file was written)", h.PID)
		}
		h.PGID = st.PGID
		h.StartTime = st.StartTime
		h.StartedAt = startedAt(st.StartTime)
		return h, true, ""
	}
	if st.StartTime != h.StartTime {
		return h, false, fmt.Sprintf("PID %d now belongs to another process", h.PID)
	}
	if h.StartedAt.IsZero() {
		h.StartedAt = startedAt(st.StartTime)
	}
	return h, true, ""
}
