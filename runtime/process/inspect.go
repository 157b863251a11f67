package process

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/berthdev/berth/metadata"
	"github.com/berthdev/berth/runtime"
)

// Inspect reads the PID file and checks the process it names against the
// launch token (or, for a plain PID file, the service's command and
// directory). It reads only the recorded process, and its group when the
// leader has gone; it changes nothing.
func (r *Runner) Inspect(_ context.Context, svc *runtime.Service) (runtime.State, error) {
	rec, err := readPIDFile(pidPath(svc))
	return r.inspectRecord(svc, rec, err), nil
}

// inspectRecord is Inspect of the record read (rec, or the error of its
// read).
func (r *Runner) inspectRecord(svc *runtime.Service, rec pidRecord, err error) runtime.State {
	st := runtime.State{Name: svc.Name, Runner: svc.Runner, State: runtime.Stopped}
	if errors.Is(err, os.ErrNotExist) {
		return st
	}
	if err != nil {
		st.Reason = err.Error()
		st.Warning = fmt.Sprintf("%s is not a PID file berth can read (%v): berth start refuses while processes of %s may run; remove it once they are gone", pidPath(svc), errors.Unwrap(err), svc.Name)
		st.Handle = &runtime.Handle{Service: svc.Name, Runner: metadata.RunnerProcess}
		return st
	}
	v := verify(svc, rec.Handle)
	if v.leader {
		r.remember(v.h)
	}
	h := v.h
	h.Service, h.Runner = svc.Name, metadata.RunnerProcess
	st.Handle = &h
	switch {
	case v.warning != "":
		st.Reason, st.Warning = v.warning, v.warning
		return st
	case v.leader:
		st.State, st.PID = runtime.Running, h.PID
	case len(v.survivors) > 0:
		st.State, st.PID = runtime.Running, v.survivors[0].PID
		st.Reason = fmt.Sprintf("its main process %d has exited; still running: %v", h.PID, describeAll(v.survivors))
		if h.PID == 0 {
			st.Reason = fmt.Sprintf("its launch was cut short before its PID was recorded; found by its launch token: %v", describeAll(v.survivors))
		}
	default:
		st.Reason = v.reason
		return st
	}
	at := h.StartedAt
	st.StartedAt = &at
	return st
}

// Record is a service's PID file as read, for a status that reads every
// record before it learns what the supervisor vouches for (InspectRead).
// The record is held by pointer: a status keeps one per service until its
// inspection, and the state of a launch vouched for takes its handle as
// it is rather than a copy (160 bytes per service, copied twice before).
type Record struct {
	rec *pidRecord // nil with err, or in a zero Record
	err error
}

// ReadRecord reads svc's PID file for InspectRead.
func (r *Runner) ReadRecord(svc *runtime.Service) Record {
	rec, err := readPIDFile(pidPath(svc))
	if err != nil {
		return Record{err: err}
	}
	return Record{rec: &rec}
}

// InspectRead is Inspect of the record read, for a status that learns
// what the supervisor vouches for while it reads the PID files: vouch
// (which may wait for the supervisor's answer) says which launch of svc
// it vouches for, if any: the supervisor launched (or adopted) it and has
// not seen it end, so its PID is still the process it verified. A record
// that still names that launch (the same PID, start time and this
// environment's launch token) shows the service running without reading
// /proc; anything else is inspected from the record read. The state
// returned may hold rd's handle itself: rd is read for one inspection.
func (r *Runner) InspectRead(svc *runtime.Service, rd Record, vouch func() (runtime.Handle, bool)) runtime.State {
	if rd.err == nil && rd.rec != nil {
		if h, ok := vouch(); ok {
			if st, ok := vouched(svc, h, rd.rec); ok {
				return st
			}
		}
	}
	var rec pidRecord
	if rd.rec != nil {
		rec = *rd.rec
	}
	return r.inspectRecord(svc, rec, rd.err)
}

// vouched is the state of svc when its record rec names the launch h that
// its supervisor vouches for; the state's handle is rec's.
func vouched(svc *runtime.Service, h runtime.Handle, rec *pidRecord) (st runtime.State, ok bool) {
	if h.PID <= 1 || h.Token == "" || rec.Handle.PID != h.PID ||
		rec.Handle.StartTime != h.StartTime || rec.Handle.Token != h.Token || rec.Handle.StartedAt.IsZero() {
		return st, false
	}
	if !ownToken(svc, h.Token) {
		return st, false
	}
	rh := &rec.Handle
	rh.Service, rh.Runner = svc.Name, metadata.RunnerProcess
	at := rh.StartedAt
	return runtime.State{Name: svc.Name, Runner: svc.Runner, State: runtime.Running, PID: rh.PID, Handle: rh, StartedAt: &at}, true
}

// StillRecorded says whether svc's PID file still names the launch of h:
// the same PID, start time and launch token. It reads the file only.
func (r *Runner) StillRecorded(svc *runtime.Service, h runtime.Handle) bool {
	rec, err := readPIDFile(pidPath(svc))
	return err == nil && rec.Handle.PID == h.PID && rec.Handle.StartTime == h.StartTime && rec.Handle.Token == h.Token
}

var _ runtime.RecordChecker = (*Runner)(nil)
