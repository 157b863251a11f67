package supervisor

// shutdown stops serving; watches end without touching their services.
func (s *Supervisor) shutdown() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.shutdownLocked()
}

func (s *Supervisor) shutdownLocked() {
	if s.closing {
		return
	}
	s.closing = true
	s.ln.Close()
	close(s.done)
}

// exitIfIdle shuts down when nothing is watched or pending. The check and
// the shutdown are one step under s.mu: a start or hold that counts itself
// pending after the check would otherwise be acknowledged by a supervisor
// already on its way out.
func (s *Supervisor) exitIfIdle() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.watches) == 0 && s.pending == 0 && !s.eng.busy() {
		s.shutdownLocked()
	}
}

// endSession counts a client's connection gone. A supervisor left with no
// connection, nothing watched and nothing pending, once a session has
// ended, exits at once: one spawned by a start that launched nothing (the
// start failed, or all it named ran already) does not wait out its idle
// exit. A hello, a detach or a connection that only asked (status, live;
// session false) ends no session: a status asked of a supervisor just
// spawned does not end it before the session
// of the start that spawned it comes, but the last connection to end,
// whichever it is, makes the check. An environment with services on
// Docker keeps the idle exit: whether its containers run is the engine
// watch's to say (their events may still be on their way), not a session's.
func (s *Supervisor) endSession(session bool) {
	s.mu.Lock()
	s.sessions--
	s.hadSession = s.hadSession || session
	check := s.sessions == 0 && s.hadSession
	s.mu.Unlock()
	if !check {
		return
	}
	if env, err := s.env(); err != nil || targetOf(env) != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sessions == 0 && len(s.watches) == 0 && s.pending == 0 && !s.eng.busy() {
		s.cfg.Logf("the last session ended with nothing watched: exiting")
		s.shutdownLocked()
	}
}

// onAccept, when set (by tests), is called for every connection accepted.
var onAccept func()

func (s *Supervisor) accept() {
	for {
		c, err := s.ln.AcceptUnix()
		if err != nil {
			return
		}
		// Every connection counts as a session until its first request
		// says otherwise: a start's session opens before its first
		// launch, and may end without one (endSession).
		s.mu.Lock()
		s.sessions++
		s.mu.Unlock()
		if onAccept != nil {
			onAccept()
		}
		go s.serve(newConn(c))
	}
}
