package supervisor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		s.reply(c, Response{ID: req.ID, Code: codeClosing, Error: "the supervisor is exiting"})
		return nil
	}
	w := s.watches[req.Service]
	var l *launch
	if w != nil {
		l = w.cur
	}
	// Only a service of this supervisor's own environment: the record's
	// identity is checked against the service as the request describes it.
	if w == nil || st.Spec == nil || st.Spec.Name != req.Service || st.Spec.Root != s.cfg.Root {
		s.mu.Unlock()
		s.reply(c, Response{ID: req.ID, Code: codeUnknown})
		return nil
	}
	// The record the command read must name the launch watched: the
	// command does not read it again before its stop (Protocol 8).
	if l == nil || !sameLaunch(l.h, st.Handle) {
		s.mu.Unlock()
		s.reply(c, Response{ID: req.ID, Code: codeMoved})
		return nil
	}
	// The supervisor stays until the stop is answered, even once it
	// watches nothing more (finishStopRun ends this).
	s.pending++
	s.mu.Unlock()
	w.markStop("by user")
	opts := runtime.StopOptions{Signal: syscall.Signal(st.Signal), Grace: st.Grace, Kill: st.Kill}
	return &stopRun{w: w, l: l, name: req.Service, pid: st.Handle.PID, st: s.proc.BeginStop(st.Spec.service(), st.Handle, opts)}
}

// sameLaunch says whether h names the launch of w: the PID, start time
// and launch token its record holds.
func sameLaunch(w, h runtime.Handle) bool {
	return w.PID == h.PID && w.StartTime == h.StartTime && w.Token == h.Token
}

// stops begins each stop of a batch in turn, then waits for each in a
// goroutine of its own (beginStopRun says why). A request of the batch
// that is not a stop of the supervisor's own is answered as a request
// of its own would be. One that cannot be read ends the session, as a
// request that cannot be read does: the stops begun before it go on as
// stops whose command went away.
func (ss *session) stops(batch []json.RawMessage) {
	s, c := ss.s, ss.c
	reqs := make([]Request, len(batch))
	runs := make([]*stopRun, len(batch))
	for i, raw := range batch {
		req := &reqs[i]
		if err := json.Unmarshal(raw, req); err != nil {
			s.cfg.Logf("a stop of a batch cannot be read: %v", err)
			defer c.Close()
			break
		}
		if req.Op != opStop || req.Stop == nil {
			s.reply(c, Response{ID: req.ID, Error: fmt.Sprintf("%q in a batch of stops", req.Op)})
			continue
		}
		runs[i] = s.beginStopRun(c, *req)
	}
	for i, run := range runs {
		if run != nil {
			req := reqs[i]
			ss.serve(req.ID, func(ctx context.Context) { s.finishStopRun(ctx, c, req, run) })
		}
	}
}

// finishStopRun waits for the end of a stop begun by beginStopRun, as the
// process runner does, and answers once the exit is recorded. A stop that
// fails clears the mark; a command gone (ctx) ends the wait and leaves
// the mark, as a stop whose command went away.
func (s *Supervisor) finishStopRun(ctx context.Context, c *conn, req Request, run *stopRun) {
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
		resp := Response{ID: req.ID, Error: err.Error()}
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
	s.reply(c, Response{ID: req.ID})
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
