package supervisor

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/berthdev/berth/metadata"
)

// What the engine watcher keeps on disk, in .berth/engine: the time of the
// last Docker event it has handled (a new supervisor asks the daemon for
// the events since then, so what happened while none ran is recorded once)
// and, per service, the stops berth itself made (their containers' deaths
// are a user's stop, not a crash).

func engineDir(p Paths) string { return filepath.Join(p.Dir, "engine") }

type engineCursor struct {
	Since time.Time `json:"since"`
}

func readCursor(p Paths) time.Time {
	var c engineCursor
	data, err := os.ReadFile(filepath.Join(engineDir(p), "cursor.json"))
	if err != nil || json.Unmarshal(data, &c) != nil {
		return time.Time{}
	}
	return c.Since
}

func writeCursor(p Paths, t time.Time) error {
	data, _ := json.Marshal(engineCursor{Since: t.UTC()})
	// Mkdir, not MkdirAll: an environment removed under a running
	// supervisor is not made again.
	if err := os.Mkdir(engineDir(p), 0o755); err != nil && !os.IsExist(err) {
		return err
	}
	return metadata.WriteFileAtomic(filepath.Join(engineDir(p), "cursor.json"), append(data, '\n'), 0o644)
}

// lastEngineEvent is the time of the newest engine event in the log: a
// supervisor killed between recording an event and moving its cursor does
// not record that event twice.
func lastEngineEvent(p Paths) time.Time {
	evs, _ := ReadEvents(p, nil, time.Time{})
	var last time.Time
	for _, e := range evs {
		if e.Runner != "" && e.Runner != "process" && e.At.After(last) {
			last = e.At
		}
	}
	return last
}

// stopMark is a stop that berth made of a Docker-run service: from its
// start to its end (zero while under way).
type stopMark struct {
	From   time.Time `json:"from"`
	To     time.Time `json:"to,omitzero"`
	Reason string    `json:"reason"`
}

// maxStopMarks is how many of a service's stops are kept.
const maxStopMarks = 8

// markSlack widens a stop's window: the daemon's event times and berth's
// clock are read at slightly different moments.
const markSlack = 2 * time.Second

// unfinishedMark bounds a stop whose command never said it ended (killed).
const unfinishedMark = 5 * time.Minute

var markMu sync.Mutex

func marksPath(p Paths, service string) string {
	return filepath.Join(engineDir(p), service+".stops.json")
}

func readMarks(p Paths, service string) []stopMark {
	var ms []stopMark
	data, err := os.ReadFile(marksPath(p, service))
	if err == nil {
		json.Unmarshal(data, &ms)
	}
	return ms
}

// updateMarks reads, changes and writes a service's stop marks.
func updateMarks(p Paths, service string, f func([]stopMark) []stopMark) error {
	markMu.Lock()
	defer markMu.Unlock()
	lock, err := metadata.Lock(marksPath(p, service) + ".lock")
	if err != nil {
		return err
	}
	defer lock.Unlock()
	ms := f(readMarks(p, service))
	if len(ms) > maxStopMarks {
		ms = ms[len(ms)-maxStopMarks:]
	}
	data, _ := json.Marshal(ms)
	return metadata.WriteFileAtomic(marksPath(p, service), append(data, '\n'), 0o644)
}

// stoppedBy says why berth stopped service at t, or "" when it did not.
func stoppedBy(p Paths, service string, t time.Time) string {
	for _, m := range readMarks(p, service) {
		end := m.To
		if end.IsZero() {
			end = m.From.Add(unfinishedMark)
		}
		if !t.Before(m.From.Add(-markSlack)) && !t.After(end.Add(markSlack)) {
			return m.Reason
		}
	}
	return ""
}
