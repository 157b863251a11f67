package supervisor

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berthdev/berth/internal/rawfile"
	"github.com/berthdev/berth/metadata"
	"github.com/berthdev/berth/runtime"
)

func signalName(s syscall.Signal) string { return metadata.SignalName(s) }

// Record is what the environment keeps about one host service between
// commands (.berth/run/<service>.json): whether a user wants it running,
// whether a supervisor watches it, and how it last ended. The supervisor
// writes it; without a supervisor, stop writes it directly. status -o
// wide/json and health read it, never the socket.
type Record struct {
	Service string `json:"service"`
	// Wanted: started and not stopped by a user. A wanted service that is
	// down has crashed (berth health says so).
	Wanted bool `json:"wanted"`
	// Supervised: a supervisor watches it now (left true by a supervisor
	// that was killed: the next command starts one that adopts it).
	Supervised bool      `json:"supervised"`
	Policy     string    `json:"policy,omitempty"`
	PID        int       `json:"pid,omitempty"`
	Restarts   int       `json:"restarts"`
	LastExit   *ExitInfo `json:"last_exit,omitempty"`
	// GaveUp is set when the supervisor stopped restarting it: "gave up
	// after N restarts".
	GaveUp string `json:"gave_up,omitempty"`
	// Stopped says who stopped it: "by user", or "because X crashed".
	Stopped   string    `json:"stopped,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
}

func recordPath(p Paths, service string) string { return filepath.Join(p.Runs, service+".json") }

// ReadRecord reads a service's record; a missing one is the zero Record.
// It reads under a shared lock of the file, so never while a writer
// rewrites it (see updateRecord). Records and the event log are opened,
// read and written with plain system calls (internal/rawfile): os.OpenFile
// adds fcntl calls and offers each file to the poller (an epoll_ctl that a
// regular file refuses), about ten system calls more per record and per
// event, 2,000 in a stop of 100.
func ReadRecord(p Paths, service string) (Record, error) {
	data, err := rawfile.ReadShared(recordPath(p, service), make([]byte, 1024))
	if errors.Is(err, os.ErrNotExist) {
		return Record{Service: service}, nil
	}
	if err != nil {
		return Record{Service: service}, err
	}
	return parseRecord(data, service)
}

// parseRecord parses a record file; an empty one (created by a writer that
// has not written yet, or that died first) is no record.
func parseRecord(data []byte, service string) (Record, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return Record{Service: service}, nil
	}
	if r, ok := decodeRecord(data); ok {
		r.Service = service
		return r, nil
	}
	var r Record
	if err := json.Unmarshal(data, &r); err != nil {
		return Record{Service: service}, err
	}
	r.Service = service
	return r, nil
}

// AnyWatchedRecord says whether a record says a supervisor watches its
// service (Supervised and Wanted), reading each record under its lock as
// ReadRecord does but parsing only one that can say so: both are the JSON
// literal true, which has no other spelling, so a record with fewer than
// two "true" in it says no. A new supervisor asks before it serves, and a
// stopped environment's records (wanted and supervised false) were each
// parsed there: 100 of them took 1 to 2 ms of the time to the first launch.
func AnyWatchedRecord(p Paths) bool {
	names, _ := filepath.Glob(filepath.Join(p.Runs, "*.json"))
	buf := make([]byte, 1024)
	for _, n := range names {
		data, err := rawfile.ReadShared(n, buf)
		if err != nil || bytes.Count(data, []byte("true")) < 2 {
			continue
		}
		r, err := parseRecord(data, strings.TrimSuffix(filepath.Base(n), ".json"))
		if err == nil && r.Supervised && r.Wanted {
			return true
		}
	}
	return false
}

// ReadRecords reads every record, by service.
func ReadRecords(p Paths) map[string]Record {
	out := map[string]Record{}
	names, _ := filepath.Glob(filepath.Join(p.Runs, "*.json"))
	for _, n := range names {
		svc := strings.TrimSuffix(filepath.Base(n), ".json")
		if r, err := ReadRecord(p, svc); err == nil {
			out[svc] = r
		}
	}
	return out
}

// updateRecord reads, changes and writes a record under an exclusive lock
// of its file, so two writers never lose each other's change. The record
// is rewritten in place by one write at offset 0, padded with spaces to
// the length it had, never truncated: a reader, which holds a shared lock,
// sees it whole, and a writer killed mid-way leaves the old record or the
// new one. A temporary file and a rename, as before, cost an inode
// allocation per write: on ext4 without a journal (this machine) each
// allocation skips every inode deleted in the last minute, 0.2 to 0.5 ms
// per record on a busy machine and half of a supervised stop's CPU. Not
// synced: a record, like a PID file, is about processes, which do not
// outlive a crash of the machine either.
func updateRecord(p Paths, service string, change func(*Record)) error {
	path := recordPath(p, service)
	fd, err := rawfile.Open(path, unix.O_RDWR|unix.O_CREAT, 0o644)
	if errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(p.Runs, 0o755); err != nil {
			return err
		}
		fd, err = rawfile.Open(path, unix.O_RDWR|unix.O_CREAT, 0o644)
	}
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := rawfile.Flock(fd, unix.LOCK_EX); err != nil {
		return err
	}
	old, err := rawfile.Read(fd, make([]byte, 1024), rawfile.Short)
	if err != nil {
		return err
	}
	r, _ := parseRecord(old, service)
	change(&r)
	r.Service = service
	r.UpdatedAt = time.Now().UTC()
	data, err := marshalRecord(&r)
	if err != nil {
		return err
	}
	if pad := len(old) - len(data) - 1; pad > 0 {
		data = append(data, bytes.Repeat([]byte{' '}, pad)...)
	}
	data = append(data, '\n')
	if err := rawfile.WriteAt(fd, data, 0); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// Attach fills states' Run from the records on disk (no socket): how each
// host service last ended, its restarts, and whether it is down.
func Attach(p Paths, states []runtime.State) {
	recs := ReadRecords(p)
	for i := range states {
		r, ok := recs[states[i].Name]
		if !ok {
			continue
		}
		info := &runtime.RunInfo{Supervised: r.Supervised, Policy: r.Policy, Restarts: r.Restarts,
			GaveUp: r.GaveUp, Stopped: r.Stopped, Down: r.Wanted && !states[i].IsRunning() && states[i].State != runtime.Unknown}
		if x := r.LastExit; x != nil {
			info.LastExit, info.Signal = x.String(), x.Signal
			at := x.At
			info.ExitedAt = &at
			if !x.Unknown {
				code := x.Code
				info.ExitCode = &code
			}
		}
		states[i].Run = info
	}
}
