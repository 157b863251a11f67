package supervisor

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

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
func ReadRecord(p Paths, service string) (Record, error) {
	data, err := os.ReadFile(recordPath(p, service))
	if errors.Is(err, os.ErrNotExist) {
		return Record{Service: service}, nil
	}
	if err != nil {
		return Record{Service: service}, err
	}
	var r Record
	if err := json.Unmarshal(data, &r); err != nil {
		return Record{Service: service}, err
	}
	r.Service = service
	return r, nil
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

// WriteRecord writes r whole (temporary file, then rename), without
// waiting for the disk: a record, like a PID file, is about processes,
// which do not outlive a crash of the machine either. Two fsyncs per
// record made every launch and every stop of a supervised service wait
// for the disk twice, in the path of the command.
func WriteRecord(p Paths, r Record) error {
	r.UpdatedAt = time.Now().UTC()
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(p.Runs, 0o755); err != nil {
		return err
	}
	return metadata.ReplaceFile(recordPath(p, r.Service), append(data, '\n'), 0o644)
}

// updateRecord reads, changes and writes a record.
func updateRecord(p Paths, service string, f func(*Record)) error {
	r, _ := ReadRecord(p, service)
	f(&r)
	return WriteRecord(p, r)
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
