package process

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/berthdev/berth/runtime"
)

// Stopping is a stop whose first signal has gone to the service's group
// (BeginStop); Finish does the rest.
type Stopping struct {
	r     *Runner
	svc   *runtime.Service
	h     runtime.Handle
	opts  runtime.StopOptions
	v     verdict
	sig   syscall.Signal
	group int
	// done: nothing is left to do but Finish's answer (err).
	done bool
	err  error
}

// BeginStop verifies the record and, when its leader is shown to be the
// service's and leads its group, signals the group; nothing else. The
// group is signalled as soon as its leader is shown to be the service's;
// the members outside it are looked for in Finish (a walk of /proc and the
// environments of what started since the leader). Looking first held every
// signal of a stop of 100 services behind that walk, and spread them over
// 20 ms; a supervisor begins each stop as its request arrives, in turn,
// and leaves the rest to each stop's own goroutine, so that the walks and
// the exits of the first services do not hold up the signals of the last.
func (r *Runner) BeginStop(svc *runtime.Service, h runtime.Handle, opts runtime.StopOptions) *Stopping {
	st := &Stopping{r: r, svc: svc, h: h, opts: opts, v: r.verifyRecord(svc, h), sig: opts.Signal}
	// The record is as the stop's plan read it (runtime.RecordChecker):
	// while the planned leader lives no other launch can be recorded;
	// once it is gone, the record is read again.
	if !st.v.leader && recordMoved(svc, h) {
		st.done, st.err = true, runtime.ErrRecordMoved
		return st
	}
	if st.v.warning != "" {
		st.done, st.err = true, removePIDFile(pidPath(svc), h)
		return st
	}
	if st.sig == 0 {
		st.sig = syscall.SIGTERM
	}
	st.group = r.signalGroup(st.v, st.sig)
	return st
}

// recordMoved says whether svc's PID file names another launch than h, or
// cannot be read as one; a removed record has not moved.
func recordMoved(svc *runtime.Service, h runtime.Handle) bool {
	rec, err := readPIDFile(pidPath(svc))
	if errors.Is(err, os.ErrNotExist) {
		return false
	}
	return err != nil || rec.Handle.PID != h.PID || rec.Handle.StartTime != h.StartTime || rec.Handle.Token != h.Token
}

// Finish finds and signals the members of the service outside its group
// and waits until none of its processes is left, then removes the record
// if it still names the stopped launch.
func (st *Stopping) Finish(ctx context.Context) error {
	if st.done {
		return st.err
	}
	r, svc, h, opts, v, sig, group := st.r, st.svc, st.h, st.opts, st.v, st.sig, st.group
	ms := r.stopMembers(v)
	if len(ms) == 0 && group == 0 {
		return removePIDFile(pidPath(svc), h)
	}
	if err := signalOutside(ms, group, sig); err != nil {
		return err
	}
	if v.leader && !containsPID(ms, v.h.PID) {
		// Signalled first, the leader may be gone before the walk, or a
		// zombie it leaves out: it is waited for all the same, so that a
		// runner that launched it waits until it has reaped it, and the
		// group check that follows finds no zombie to walk /proc for.
		ms = append(ms, procStat{PID: v.h.PID, PGID: v.h.PGID, StartTime: v.h.StartTime})
	}
	wctx, cancel := context.WithTimeout(ctx, opts.Grace)
	err := r.waitAll(wctx, v, ms)
	cancel()
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		left := r.leftovers(v, ms)
		if !opts.Kill {
			return &runtime.StopTimeoutError{Service: svc.Name, Grace: opts.Grace, Signal: sig, Survivors: describeAll(left)}
		}
		if err := signalAll(v, left, syscall.SIGKILL); err != nil {
			return err
		}
		kctx, cancel := context.WithTimeout(ctx, killGrace)
		defer cancel()
		if err := r.waitAll(kctx, v, left); err != nil {
			return fmt.Errorf("processes of %s did not exit within %s after KILL: %v", svc.Name, killGrace, describeAll(r.leftovers(v, left)))
		}
	}
	return removePIDFile(pidPath(svc), h)
}

// PrepareStops makes, ahead of stops to come, the walks of /proc that
// they share (within scanTTL): the groups (signalGroup, for root) and the
// processes that started since from with their launch tokens (members).
// It signals nothing and changes nothing.
func (r *Runner) PrepareStops(from uint64) {
	if me().uid == 0 {
		groups.since(time.Now().Add(-scanTTL))
	}
	r.scanFrom(from)
}
