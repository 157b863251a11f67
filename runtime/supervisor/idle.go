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
