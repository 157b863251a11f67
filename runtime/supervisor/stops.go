package supervisor

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/berthdev/berth/runtime"
	"github.com/berthdev/berth/runtime/process"
)

// handleStop marks the launch as stopped by a user before the command
// stops it, so that its exit is never restarted; a stop that failed
// (settle not ok) clears the mark; a client gone leaves it.
func (s *Supervisor) handleStop(c *conn, req Request, settled <-chan Request) {
	s.mu.Lock()
	w := s.watches[req.Service]
	var l *launch
	if w != nil {
		l = w.cur
	}
	s.mu.Unlock()
	if w == nil {
		s.reply(c, Response{ID: req.ID, Code: codeUnknown})
		return
	}
	w.markStop("by user")
	if err := s.reply(c, Response{ID: req.ID}); err != nil {
		return
	}
	settle, open := <-settled
	if !open {
		return
	}
	if !settle.OK {
		w.markStop("")
		return
	}
	s.awaitRecorded(s.done, req.Service, l)
	s.reply(c, Response{ID: req.ID})
}

// awaitRecorded returns once the exit of l is recorded (within
// StopRecordTimeout), so that a stop is answered with the environment's
// files as they will stay; false if done ended the wait first.
func (s *Supervisor) awaitRecorded(done <-chan struct{}, name string, l *launch) bool {
	t := time.NewTimer(StopRecordTimeout)
	defer t.Stop()
	select {
	case <-l.handled:
	case <-done:
		return false
	case <-t.C:
		s.cfg.Logf("%s: the stop was not recorded within %s", name, StopRecordTimeout)
	}
	return true
}

// stopRun is a user's stop that the supervisor makes itself, begun
// (beginStopRun) and waiting for its end (finishStopRun).
type stopRun struct {
	w    *watch
	l    *launch
	name string
	pid  int
	st   *process.Stopping
}

// beginStopRun begins a user's stop that the supervisor makes itself: it
// marks the stop (the exit is never restarted) and has the process runner
// verify the record the command read, as a stop from the command would,
// and signal the service's group. The session's reader calls it as each
// request arrives, so that the signals of a stop of 100 go out one after
// another as their requests come, not behind the walks and the exits of
// the stops begun first; finishStopRun does the rest in a goroutine of
// its own. A stop that cannot begin is answered here, and nil returned.
func (s *Supervisor) beginStopRun(c *conn, req Request) *stopRun {
	st := req.Stop
	// Only a service of this supervisor's own environment: the record's
	// identity is checked against the service as the request describes it.
	if st.Spec == nil || st.Spec.Name != req.Service || st.Spec.Root != s.cfg.Root {
		s.reply(c, Response{ID: req.ID, Code: codeUnknown})
		return nil
	}
	return s.beginStop(c, batchStop{ID: req.ID, Service: req.Service, PID: st.Handle.PID, StartTime: st.Handle.StartTime,
		Token: st.Handle.Token, Grace: st.Grace, Signal: st.Signal, Kill: st.Kill})
}

// beginStop begins the stop b of a launch this supervisor watches, of the
// service as the supervisor launched or adopted it (w.svc), once the
// record the command read (b's PID, start time and launch token) is shown
// to name that launch: the command does not read it again before its stop
// (Protocol 8).
func (s *Supervisor) beginStop(c *conn, b batchStop) *stopRun {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		s.reply(c, Response{ID: b.ID, Code: codeClosing, Error: "the supervisor is exiting"})
		return nil
	}
	w := s.watches[b.Service]
	if w == nil || w.svc == nil {
		s.mu.Unlock()
		s.reply(c, Response{ID: b.ID, Code: codeUnknown})
		return nil
	}
	l, svc := w.cur, w.svc
	if l == nil || l.h.PID != b.PID || l.h.StartTime != b.StartTime || l.h.Token != b.Token {
		s.mu.Unlock()
		s.reply(c, Response{ID: b.ID, Code: codeMoved})
		return nil
	}
	// The supervisor stays until the stop is answered, even once it
	// watches nothing more (finishStopRun ends this).
	s.pending++
	s.mu.Unlock()
	w.markStop("by user")
	opts := runtime.StopOptions{Signal: syscall.Signal(b.Signal), Grace: b.Grace, Kill: b.Kill}
	return &stopRun{w: w, l: l, name: b.Service, pid: b.PID, st: s.proc.BeginStop(svc, l.h, opts)}
}

// batchStop is one stop of a batch (opStops): the launch as the command's
// plan read its record, and the stop's options. The service is the one
// the supervisor watches (beginStop). A batch of 100 stops, each a whole
// Request with the command's Spec, was 60 KB that the command encoded in
// 0.56 ms, and the supervisor validated in 0.38 ms before its first stop
// and decoded at 7 µs a stop; as batchStops it is 15 KB, 0.13 ms, 0.09 ms
// and 1.7 µs (go test -bench of the two encodings, this machine).
type batchStop struct {
	ID        uint64        `json:"id"`
	Service   string        `json:"service"`
	PID       int           `json:"pid"`
	StartTime uint64        `json:"start_time"`
	Token     string        `json:"token"`
	Grace     time.Duration `json:"grace"`
	Signal    int           `json:"signal,omitempty"`
	Kill      bool          `json:"kill,omitempty"`
}

// stops begins each stop of a batch in turn, then waits for each in a
// goroutine of its own (beginStopRun says why). One that cannot be read
// ends the session, as a request that cannot be read does: the stops
// begun before it go on as stops whose command went away.
func (ss *session) stops(batch []json.RawMessage) {
	s, c := ss.s, ss.c
	if f := onStops.Load(); f != nil {
		(*f)(batch)
	}
	ids := make([]uint64, len(batch))
	runs := make([]*stopRun, len(batch))
	for i, raw := range batch {
		var b batchStop
		if err := json.Unmarshal(raw, &b); err != nil {
			s.cfg.Logf("a stop of a batch cannot be read: %v", err)
			defer c.Close()
			break
		}
		ids[i], runs[i] = b.ID, s.beginStop(c, b)
	}
	for i, run := range runs {
		if run != nil {
			id := ids[i]
			ss.serve(id, func(ctx context.Context) { s.finishStopRun(ctx, c, id, run) })
		}
	}
}

// onStops, when set (by tests), is shown each batch of stops as it came.
var onStops atomic.Pointer[func(batch []json.RawMessage)]

// finishStopRun waits for the end of a stop begun by beginStopRun, as the
// process runner does, and answers once the exit is recorded. A stop that
// fails clears the mark; a command gone (ctx) ends the wait and leaves
// the mark, as a stop whose command went away.
func (s *Supervisor) finishStopRun(ctx context.Context, c *conn, id uint64, run *stopRun) {
	defer func() {
		s.mu.Lock()
		s.pending--
		s.mu.Unlock()
		s.exitIfIdle()
	}()
	err := run.st.Finish(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		run.w.markStop("")
		if errors.Is(err, runtime.ErrRecordMoved) {
			s.reply(c, Response{ID: id, Code: codeMoved})
			return
		}
		resp := Response{ID: id, Error: err.Error()}
		var te *runtime.StopTimeoutError
		if errors.As(err, &te) {
			resp.Code, resp.Timeout = codeTimeout, &stopTimeout{Grace: te.Grace, Signal: int(te.Signal), Survivors: te.Survivors}
		}
		s.reply(c, resp)
		return
	}
	if run.l != nil && run.l.h.PID == run.pid && !s.awaitRecorded(ctx.Done(), run.name, run.l) {
		return
	}
	s.reply(c, Response{ID: id})
}

// StopRecordTimeout bounds how long a user's stop waits for the
// supervisor to record it.
const StopRecordTimeout = 10 * time.Second

// handleHold keeps the supervisor from exiting while the hold lasts: the
// client cancels it, or its session ends (the command exited). A restart
// holds it across its stops, which leave it watching nothing, and the
// start that follows, which would otherwise spawn another.
func (s *Supervisor) handleHold(ctx context.Context, c *conn, req Request) {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		s.reply(c, Response{ID: req.ID, Code: codeClosing, Error: "the supervisor is exiting"})
		return
	}
	s.pending++
	s.mu.Unlock()
	s.reply(c, Response{ID: req.ID})
	<-ctx.Done()
	s.mu.Lock()
	s.pending--
	s.mu.Unlock()
	s.exitIfIdle()
}
