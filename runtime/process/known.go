package process

import (
	"time"

	"github.com/berthdev/berth/runtime"
)

// A stop of many services inspects each (its plan) and then stops each
// moments later, in the same berth. The plan has read each leader's stat
// and environment and shown it carries its launch token; the stop read
// both again, and its walk of /proc read once more the environment of
// every service that started after the first one stopped: 300 reads of
// /proc/<pid>/environ in a stop of 100, for what the plan had shown.
//
// knownLeader remembers, for knownTTL, that the process with a PID and
// start time carries a launch token, as a verification by this runner
// showed it. The pair names one process for its whole life (a PID is
// reused by a process that starts later), and the token is in the
// environment it started with, so the stat read again before a signal
// (the PID still names a live process with that start time) is what
// shows it is still that process. The bound keeps a long-lived runner
// from trusting what it read long ago.
type knownLeader struct {
	start uint64
	token string
	at    time.Time
}

const knownTTL = scanTTL

// knownPrune is the size at which remember drops expired entries.
const knownPrune = 512

// remember records that the verified leader of h carries h.Token.
func (r *Runner) remember(h runtime.Handle) {
	if h.PID <= 1 || h.Token == "" {
		return
	}
	r.mu.Lock()
	if r.known == nil {
		r.known = map[int]knownLeader{}
	}
	if len(r.known) >= knownPrune {
		// A long-lived runner (the supervisor) forgets what has expired.
		for pid, k := range r.known {
			if time.Since(k.at) > knownTTL {
				delete(r.known, pid)
			}
		}
	}
	r.known[h.PID] = knownLeader{h.StartTime, h.Token, time.Now()}
	r.mu.Unlock()
}

// knownToken is the token a recent verification showed the process pid,
// started at start, carries. The caller holds r.mu.
func (r *Runner) knownToken(pid int, start uint64) (string, bool) {
	k, ok := r.known[pid]
	if !ok || k.start != start || time.Since(k.at) > knownTTL {
		return "", false
	}
	return k.token, true
}

// verifyKnown shows h is the service's from a recent verification of the
// same process: the record's token is the one it was shown to carry, with
// the environment's prefix, and its stat, read now, shows it alive with
// the recorded start time. ok is false when this runner has not verified
// that process lately, or it is gone (verify then looks for survivors).
func (r *Runner) verifyKnown(svc *runtime.Service, h runtime.Handle) (verdict, bool) {
	if h.Token == "" || h.PID <= 1 {
		return verdict{}, false
	}
	r.mu.Lock()
	tok, ok := r.knownToken(h.PID, h.StartTime)
	r.mu.Unlock()
	if !ok || tok != h.Token {
		return verdict{}, false
	}
	if !ownToken(svc, h.Token) {
		return verdict{}, false
	}
	st, err := readStat(h.PID)
	if err != nil || st.State == 'Z' || st.State == 'X' || st.StartTime != h.StartTime {
		return verdict{}, false
	}
	v := verdict{h: h, leader: true}
	if v.h.StartedAt.IsZero() {
		v.h.StartedAt = startedAt(st.StartTime)
	}
	return v, true
}

// verifyRecord verifies h from what this runner knows (a process it
// launched, or one it verified lately) or, failing that, from /proc.
func (r *Runner) verifyRecord(svc *runtime.Service, h runtime.Handle) verdict {
	if v, ok := r.verifyChild(svc, h); ok {
		return v
	}
	if v, ok := r.verifyKnown(svc, h); ok {
		return v
	}
	v := verify(svc, h)
	if v.leader {
		r.remember(v.h)
	}
	return v
}
