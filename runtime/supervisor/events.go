package supervisor

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berthdev/berth/internal/rawfile"
)

// Event kinds.
const (
	EventStarted    = "started"
	EventExited     = "exited"
	EventRestarting = "restarting"
	EventGaveUp     = "gave-up"
	EventUnhealthy  = "unhealthy"
	EventHealthy    = "healthy"
	EventStopped    = "stopped"
	EventCascade    = "stopped-dependent"
	EventAdopted    = "adopted"
	EventUnwatched  = "exited-unsupervised"
	// Docker-run services (engine.go): the engine restarted a container by
	// its policy, killed one by signal, or its kernel killed one out of
	// memory; the supervisor lost the daemon and reached it again.
	EventRestarted  = "restarted"
	EventKilled     = "killed"
	EventOOM        = "oom"
	EventEngineLost = "engine-lost"
	EventEngineBack = "engine-back"
)

// Event is one line of the event log (.berth/events.jsonl).
type Event struct {
	At       time.Time `json:"at"`
	Service  string    `json:"service"`
	Kind     string    `json:"event"`
	PID      int       `json:"pid,omitempty"`
	Exit     *ExitInfo `json:"exit,omitempty"`
	Delay    string    `json:"delay,omitempty"`
	Restarts int       `json:"restarts,omitempty"`
	Reason   string    `json:"reason,omitempty"`
	// Runner is the service's runner for events of Docker-run services
	// (container, compose, swarm), with the container and, under Swarm,
	// the task the engine reported.
	Runner    string `json:"runner,omitempty"`
	Container string `json:"container_id,omitempty"`
	Task      string `json:"task_id,omitempty"`
	// Unsupervised: the engine reported it while no supervisor watched
	// (it was recorded afterwards, from the daemon's recent events).
	Unsupervised bool `json:"unsupervised,omitempty"`
}

// Text is the event as a line for people.
func (e Event) Text() string {
	name := e.Service
	if name == "" {
		name = "docker"
	}
	s := e.At.Local().Format("2006-01-02 15:04:05.000") + " " + name + ": "
	switch e.Kind {
	case EventStarted:
		s += "started (" + e.what() + ")"
		if e.Restarts > 0 {
			s += fmt.Sprintf(", restart %d", e.Restarts)
		}
	case EventExited:
		s += "exited (" + e.Exit.String() + ")"
	case EventRestarting:
		s += "restarting in " + e.Delay
	case EventGaveUp:
		s += fmt.Sprintf("gave up after %d restarts", e.Restarts)
	case EventUnwatched:
		s += "exited while unsupervised"
	case EventRestarted:
		s += "restarted by docker"
	case EventKilled:
		s += "killed by signal " + e.Exit.Signal
	case EventOOM:
		s += "out of memory"
	case EventEngineLost:
		s += "lost the Docker engine"
	case EventEngineBack:
		s += "reached the Docker engine again"
	default:
		s += e.Kind
	}
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	if e.Container != "" && e.Kind != EventStarted {
		s += " [" + e.what() + "]"
	}
	if e.Unsupervised {
		s += " (while unsupervised)"
	}
	return s
}

// what names the process, container or Swarm task of the event.
func (e Event) what() string {
	switch {
	case e.Task != "":
		return "task " + shortID(e.Task) + ", container " + shortID(e.Container)
	case e.Container != "":
		return "container " + shortID(e.Container)
	}
	return fmt.Sprintf("PID %d", e.PID)
}

func shortID(id string) string { return id[:min(12, len(id))] }

// maxEventLog is the size at which the event log is rotated to
// events.jsonl.1 (one older file is kept).
const maxEventLog = 1 << 20

// rotateMu serialises rotations within this process.
var rotateMu sync.Mutex

// AppendEvent adds e to the event log, rotating it by size. The line is
// written by a write to a file opened for appending, which the kernel
// places whole at the end whoever else appends; no lock is held across
// the system calls (one process-wide lock across the stat, open, write
// and close of every event made the 100 exits of a stop all take turns).
// The events appended while another append of this log is under way are
// written together in the next write (batcher): the exits of a stop all
// come together. AppendEvent returns once its line is written. The log is
// rotated once a write has taken it past maxEventLog.
func AppendEvent(p Paths, e Event) error {
	if e.At.IsZero() {
		e.At = time.Now()
	}
	e.At = e.At.UTC()
	b, err := marshalEvent(&e)
	if err != nil {
		return err
	}
	return eventLog(p.Events).do(append(b, '\n'), func(lines []byte) error { return appendLines(p, lines) })
}

// eventLogs are the batchers of the event logs this process appends to,
// by path.
var eventLogs sync.Map

func eventLog(path string) *batcher {
	if q, ok := eventLogs.Load(path); ok {
		return q.(*batcher)
	}
	q, _ := eventLogs.LoadOrStore(path, &batcher{})
	return q.(*batcher)
}

// appendLines appends whole lines to the event log in one write.
func appendLines(p Paths, lines []byte) error {
	const flags = unix.O_WRONLY | unix.O_APPEND | unix.O_CREAT
	fd, err := rawfile.Open(p.Events, flags, 0o644)
	if errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(p.Events), 0o755); err != nil {
			return err
		}
		fd, err = rawfile.Open(p.Events, flags, 0o644)
	}
	if err != nil {
		return err
	}
	err = rawfile.Write(fd, lines)
	var st unix.Stat_t
	serr := unix.Fstat(fd, &st)
	unix.Close(fd)
	if err == nil && serr == nil && st.Size > maxEventLog {
		rotateEvents(p)
	}
	return err
}

// rotateEvents moves a log past maxEventLog to events.jsonl.1, unless
// another rotation has just done it.
func rotateEvents(p Paths) {
	rotateMu.Lock()
	defer rotateMu.Unlock()
	if fi, err := os.Stat(p.Events); err == nil && fi.Size() > maxEventLog {
		os.Rename(p.Events, p.Events+".1")
	}
}

// ReadEvents returns the events of the log (the rotated file first) for
// the services named (all when none), none before since.
func ReadEvents(p Paths, services []string, since time.Time) ([]Event, error) {
	var out []Event
	for _, path := range []string{p.Events + ".1", p.Events} {
		f, err := os.Open(path)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			var e Event
			if json.Unmarshal(sc.Bytes(), &e) != nil {
				continue
			}
			if Matches(e, services, since) {
				out = append(out, e)
			}
		}
		f.Close()
	}
	return out, nil
}

// Matches says whether e is of one of services (any when none) and not
// before since.
func Matches(e Event, services []string, since time.Time) bool {
	// An event of no service (the engine was lost) concerns them all.
	return (len(services) == 0 || e.Service == "" || slices.Contains(services, e.Service)) && !e.At.Before(since)
}
