package runtime

import (
	"context"
	"sync/atomic"
)

// exitWatch is one Runner.Wait for a launch's end, shared by its
// readiness wait and its start check: through a supervisor every Wait is
// a request, a goroutine and an answer in two processes, and each launch
// of a start made two.
type exitWatch struct {
	// end is closed when the Wait returned; exited too when it returned
	// without error (the launch ended, with exit).
	end, exited chan struct{}
	exit        Exit
	cancel      context.CancelFunc
	users       atomic.Int32
}

// watchExit starts the Wait for h, ended (cancelled) once each of users
// has called release.
func watchExit(ctx context.Context, run Runner, h Handle, users int) *exitWatch {
	wctx, cancel := context.WithCancel(ctx)
	w := &exitWatch{end: make(chan struct{}), exited: make(chan struct{}), cancel: cancel}
	w.users.Store(int32(users))
	go func() {
		exit, err := run.Wait(wctx, h)
		if err == nil {
			w.exit = exit
			close(w.exited)
		}
		close(w.end)
	}()
	return w
}

// release says one user no longer waits.
func (w *exitWatch) release() {
	if w.users.Add(-1) == 0 {
		w.cancel()
	}
}
