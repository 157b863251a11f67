package process

import (
	"context"
	"errors"
	"maps"
	"math"
	"os"
	"syscall"
	"time"

	"github.com/berthdev/berth/runtime"
)

// killGrace bounds the wait after KILL: the kernel needs only moments, but a
// process in uninterruptible sleep can take longer.
const killGrace = 5 * time.Second

// scanTTL is how long one walk of /proc serves the stops of one berth
// command; it bounds how stale the walk can be in a long-lived runner.
const scanTTL = time.Second

// scanned is one walk of /proc with the launch tokens read so far. It is
// never changed once published: a caller that needs more tokens publishes
// a copy with them.
type scanned struct {
	procs  []procStat
	tokens map[int]string
	// from: tokens hold the launch token of each of this user's processes
	// that started at or after from (clock ticks since boot).
	from uint64
}

// tokenCarriers lists the processes of one walk of /proc that carry token
// and started at or after from, or that are in group pgid (0: none).
// Stops within scanTTL share one walk; a process's environment is read
// once per walk, and only for processes that started at or after the
// earliest launch asked about: a launch token is new at each launch and
// its leader is forked after it is made, so whatever inherited it started
// later. Reading the environment of every process, as before, made each
// stop cost as much as the machine's process count (two reads per
// process, under this runner's lock).
func (r *Runner) tokenCarriers(token string, from uint64, pgid int) []procStat {
	s := r.scanFrom(from)
	var out []procStat
	for _, p := range s.procs {
		if (p.StartTime >= from && s.tokens[p.PID] == token) || (pgid > 1 && p.PGID == pgid) {
			out = append(out, p)
		}
	}
	return out
}

// scanFrom returns a walk of /proc no older than scanTTL (and begun after
// the last invalidation: CheckListener zeroes scanAt) with the tokens of
// the processes that started at or after from. One caller walks or reads
// tokens while the others wait for it on a channel, all woken at once:
// the stops of 100 services used to take turns at the runner's lock, each
// woken by the one before, for the walk and for a loop over its processes.
func (r *Runner) scanFrom(from uint64) *scanned {
	for {
		r.mu.Lock()
		s := r.scanned
		fresh := s != nil && !r.scanAt.IsZero() && time.Since(r.scanAt) <= scanTTL
		if fresh && s.from <= from {
			r.mu.Unlock()
			return s
		}
		if wait := r.scanning; wait != nil {
			r.mu.Unlock()
			<-wait
			continue
		}
		done := make(chan struct{})
		r.scanning = done
		var ns *scanned
		if fresh {
			ns = &scanned{procs: s.procs, tokens: maps.Clone(s.tokens), from: s.from}
		} else {
			r.scanned, r.scanAt = nil, time.Now()
			ns = &scanned{tokens: map[int]string{}, from: math.MaxUint64}
		}
		at := r.scanAt
		r.mu.Unlock()
		if !fresh {
			ns.procs = liveProcs()
		}
		r.readTokens(ns, from)
		r.mu.Lock()
		if r.scanAt.Equal(at) { // not invalidated meanwhile
			r.scanned = ns
		}
		r.scanning = nil
		r.mu.Unlock()
		close(done)
		return ns
	}
}

// readTokens adds to s the tokens of the processes that started at or
// after from and before s.from: those of the services this runner
// launched from what it knows, the others' from their environment.
func (r *Runner) readTokens(s *scanned, from uint64) {
	if from >= s.from {
		return
	}
	var others []int
	r.mu.Lock()
	for _, p := range s.procs {
		if p.StartTime < from || p.StartTime >= s.from {
			continue
		}
		if tok, ok := r.childToken(p.PID); ok {
			s.tokens[p.PID] = tok
		} else if tok, ok := r.knownToken(p.PID, p.StartTime); ok {
			s.tokens[p.PID] = tok
		} else {
			others = append(others, p.PID)
		}
	}
	r.mu.Unlock()
	uid := os.Geteuid()
	for _, pid := range others {
		if u, ok := procUID(pid); ok && u == uid {
			if tok, _ := launchToken(pid); tok != "" {
				s.tokens[pid] = tok
			}
		}
	}
	s.from = from
}

// childToken is the launch token of pid when it is a service this runner
// launched and has not reaped (so the PID is still that process): the
// supervisor knows what each of its services carries without reading its
// environment. The caller holds r.mu.
func (r *Runner) childToken(pid int) (string, bool) {
	c := r.children[pid]
	if c == nil || c.token == "" {
		return "", false
	}
	select {
	case <-c.done:
		return "", false
	default:
		return c.token, true
	}
}

// members lists the live processes of the service of v: its group while
// the leader lives, and every process carrying its launch token, wherever
// it went (a setsid grandchild); for a record without a token, the leader
// and its descendants.
func (r *Runner) members(v verdict) []procStat { return r.membersOf(v, false) }

// stopMembers is members for a stop, which waits for the verified leader
// whether or not it is still alive (a zombie, or reaped, by now): the
// leader is listed as it is, without the read of its stat that would
// tell (one per service).
func (r *Runner) stopMembers(v verdict) []procStat { return r.membersOf(v, true) }

func (r *Runner) membersOf(v verdict, leaderAsIs bool) []procStat {
	h := v.h
	var out []procStat
	seen := map[int]bool{}
	add := func(p procStat) {
		if !seen[p.PID] && alive(p.PID, p.StartTime) {
			seen[p.PID] = true
			out = append(out, p)
		}
	}
	if h.Token == "" {
		if v.leader {
			procs := liveProcs()
			add(procStat{PID: h.PID, PGID: h.PGID, StartTime: h.StartTime})
			for _, d := range descendants(h.PID, procs) {
				add(d)
			}
		}
		return out
	}
	if v.leader && leaderAsIs {
		seen[h.PID] = true
		out = append(out, procStat{PID: h.PID, PGID: h.PGID, StartTime: h.StartTime})
	} else if v.leader {
		add(procStat{PID: h.PID, PGID: h.PGID, StartTime: h.StartTime})
	}
	for _, p := range v.survivors {
		add(p)
	}
	// A verified leader's start time bounds its descendants'; without
	// one, every process is looked at.
	from, pgid := uint64(0), 0
	if v.leader {
		from = h.StartTime
		if h.PGID == h.PID {
			pgid = h.PGID
		}
	}
	for _, p := range r.tokenCarriers(h.Token, from, pgid) {
		add(p)
	}
	return out
}

// waitMember returns when m is gone. A process this runner launched (the
// supervisor's services) is gone once its wait has reaped it: then its
// group holds no zombie of it, and the group check that follows needs no
// walk of /proc.
func (r *Runner) waitMember(ctx context.Context, m procStat) error {
	r.mu.Lock()
	c := r.children[m.PID]
	r.mu.Unlock()
	if c == nil {
		return waitGone(ctx, m.PID, m.StartTime)
	}
	select {
	case <-c.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func stillAlive(ps []procStat) []procStat {
	var out []procStat
	for _, p := range ps {
		if alive(p.PID, p.StartTime) {
			out = append(out, p)
		}
	}
	return out
}

// leadsGroup says whether the verified leader of v leads its own group,
// which the service's signals then go to whole.
func leadsGroup(v verdict) bool { return v.leader && v.h.PGID == v.h.PID }

// signalAll sends sig to the service: to its group when its verified
// leader leads one, and to each member outside it.
func signalAll(v verdict, ms []procStat, sig syscall.Signal) error {
	group := 0
	if leadsGroup(v) {
		var inGroup []procStat
		for _, m := range ms {
			if m.PGID == v.h.PGID {
				inGroup = append(inGroup, m)
			}
		}
		if err := sendGroup(v.h.PGID, sig, inGroup); err == nil {
			group = v.h.PGID
		}
	}
	return signalOutside(ms, group, sig)
}

// signalOutside sends sig to each member that is not in group (0: none),
// a group already signalled whole.
func signalOutside(ms []procStat, group int, sig syscall.Signal) error {
	var errs []error
	for _, m := range ms {
		if group != 0 && m.PGID == group {
			continue
		}
		if err := sendProc(m.PID, m.StartTime, sig); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// signalGroup sends sig to the group of v's verified leader, if it leads
// one, and returns the group signalled (0: none). It needs the leader's
// verification only, not the walk of /proc that finds the service's
// members outside its group. For root, checkGroup asks for the group's
// members: a walk of the groups alone (getpgid), shared by the stops of
// the last scanTTL as the walk of members is.
func (r *Runner) signalGroup(v verdict, sig syscall.Signal) int {
	if !leadsGroup(v) {
		return 0
	}
	var inGroup []procStat
	if me().uid == 0 {
		inGroup = []procStat{}
		for _, p := range groups.since(time.Now().Add(-scanTTL)) {
			if p.PGID == v.h.PGID {
				inGroup = append(inGroup, p)
			}
		}
	}
	if sendGroup(v.h.PGID, sig, inGroup) != nil {
		return 0
	}
	return v.h.PGID
}

// waitAll returns when every member, and the leader's group, is gone.
func (r *Runner) waitAll(ctx context.Context, v verdict, ms []procStat) error {
	for _, m := range ms {
		if err := r.waitMember(ctx, m); err != nil {
			return err
		}
	}
	if v.leader && v.h.PGID == v.h.PID {
		return waitGroupGone(ctx, v.h.PGID)
	}
	return nil
}

// Stop signals every process of the service (its group and whatever
// carries its launch token) and waits until none is left. A record berth
// cannot show is the service's is removed and nothing is signalled; while
// processes of the service survive, the record stays.
func (r *Runner) Stop(ctx context.Context, svc *runtime.Service, h runtime.Handle, opts runtime.StopOptions) error {
	return r.BeginStop(svc, h, opts).Finish(ctx)
}

// verifyChild shows h is the service's from what this runner knows: the
// record names a process it launched and has not reaped, so the PID is
// still that process (an unreaped child's PID is never reused), and the
// record's launch token is the one it gave that launch, made afresh for
// each. The supervisor stops its own services so without reading their
// stat and environment from /proc. ok is false for any other record.
func (r *Runner) verifyChild(svc *runtime.Service, h runtime.Handle) (verdict, bool) {
	if h.Token == "" || h.PID <= 1 {
		return verdict{}, false
	}
	r.mu.Lock()
	tok, live := r.childToken(h.PID)
	r.mu.Unlock()
	if !live || tok != h.Token {
		return verdict{}, false
	}
	if !ownToken(svc, h.Token) {
		return verdict{}, false
	}
	return verdict{h: h, leader: true}, true
}

// leftovers are the members still alive, with any new member of the group.
func (r *Runner) leftovers(v verdict, ms []procStat) []procStat {
	left := stillAlive(ms)
	if v.leader && v.h.PGID == v.h.PID {
		for _, p := range liveMembers(v.h.PGID) {
			if !containsPID(left, p.PID) {
				left = append(left, p)
			}
		}
	}
	return left
}

func containsPID(ps []procStat, pid int) bool {
	for _, p := range ps {
		if p.PID == pid {
			return true
		}
	}
	return false
}

// Forget removes the record of h once nothing of the service is left. The
// record of a running service is kept (it is what lets berth stop it); a
// process carrying its launch token outside its group (found by walking
// /proc) keeps the record too, and the error names it.
func (r *Runner) Forget(_ context.Context, svc *runtime.Service, h runtime.Handle) error {
	if h.Token != "" {
		if v := verify(svc, h); v.warning == "" {
			if v.leader {
				return nil
			}
			if left := r.members(v); len(left) > 0 {
				return &runtime.LeftoverError{Service: svc.Name, Survivors: describeAll(left)}
			}
		}
	}
	return removePIDFile(pidPath(svc), h)
}
