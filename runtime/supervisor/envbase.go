package supervisor

import (
	"os"
	"slices"
)

// A service's environment is the command's own (os.Environ, in its order)
// with the service's variables set over it: a start request of 100 carried
// the same ~1.5 KB a hundred times, encoded by the command and decoded by
// the supervisor each time. A session sends the command's environment
// once, with its first start (Request.EnvBase); a start's Spec then holds
// how many leading entries of its environment are that base's (EnvFrom)
// and the rest as they are. The supervisor rebuilds the exact list.

// envBase is a client session's side: the base and whether it went out.
type envBase struct {
	base []string
	sent bool
}

// trim fills req's base and cuts its Spec's environment against it. The
// caller holds the lock under which requests are encoded and written in
// order, so no request that counts on the base precedes the one with it.
func (b *envBase) trim(req *Request) {
	if req.Op != opStart || req.Spec == nil {
		return
	}
	if b.base == nil {
		b.base = os.Environ()
	}
	env := req.Spec.Env
	n := 0
	for n < len(env) && n < len(b.base) && env[n] == b.base[n] {
		n++
	}
	if n == 0 {
		return
	}
	if !b.sent {
		req.EnvBase, b.sent = b.base, true
	}
	spec := *req.Spec
	spec.EnvFrom, spec.Env = n, env[n:]
	req.Spec = &spec
}

// rebuildEnv is the supervisor's side, called in order of arrival: a
// request with a base keeps it for the session; a Spec cut against it gets
// its whole environment back. ok is false for a Spec that counts on more
// base than the session has.
func (ss *session) rebuildEnv(req *Request) (ok bool) {
	if req.EnvBase != nil {
		ss.envBase = req.EnvBase
	}
	if req.Spec == nil || req.Spec.EnvFrom == 0 {
		return true
	}
	if req.Spec.EnvFrom > len(ss.envBase) {
		return false
	}
	req.Spec.Env = append(slices.Clip(ss.envBase[:req.Spec.EnvFrom]), req.Spec.Env...)
	req.Spec.EnvFrom = 0
	return true
}
