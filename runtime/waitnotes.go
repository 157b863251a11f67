package runtime

import "time"

// A start that waits for a slow service says so: after waitNoteAfter, and
// again every waitNoteEvery, a line naming the service, how long it has
// waited and its start_timeout. Plain lines, so they read the same on a
// terminal and in a CI log.
var (
	waitNoteAfter = 2 * time.Second
	waitNoteEvery = 5 * time.Second
)

// noteWhileWaiting notes the wait for name's health check until the
// returned function is called.
func (m *Manager) noteWhileWaiting(name string, limit time.Duration) func() {
	if m.Progress == nil {
		return func() {}
	}
	start := time.Now()
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTimer(waitNoteAfter)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			m.note("waiting for %s to become healthy: %s so far (start_timeout %s)", name, time.Since(start).Round(time.Second), limit)
			t.Reset(waitNoteEvery)
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}
