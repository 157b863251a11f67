package runnertest

import (
	"bufio"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/berth/runtime"
)

func (s *suite) logsAll(t *testing.T) {
	svc, hd := s.start(t, Exit3)
	s.waitExit(t, s.r, hd)
	s.waitForLog(t, svc, "boom")
}

// Tail gives the last lines only. A runner may tail each of a service's
// outputs (a compose project's containers), so the test asks for no line
// older than the tail and for the last ones.
func (s *suite) logsTail(t *testing.T) {
	svc, _ := s.start(t, PrintLines)
	s.waitForLog(t, svc, "ready")
	out := s.logs(t, svc, runtime.LogOptions{Tail: 2})
	if !strings.Contains(out, "line-5") || !strings.Contains(out, "ready") {
		t.Errorf("tail 2 = %q; want line-5 and ready", out)
	}
	for _, old := range []string{"line-1", "line-2", "line-3", "line-4"} {
		if strings.Contains(out, old) {
			t.Errorf("tail 2 = %q holds %s", out, old)
		}
	}
	if out := s.logs(t, svc, runtime.LogOptions{Tail: 0}); out != "" {
		t.Errorf("tail 0 = %q; want nothing", out)
	}
	if out := s.logs(t, svc, runtime.LogOptions{Tail: -1}); !strings.Contains(out, "line-1") {
		t.Errorf("tail -1 = %q; want every line", out)
	}
}

// Since drops the lines written before it.
func (s *suite) logsSince(t *testing.T) {
	s.need(t, s.caps.LogLineTimes, "LogLineTimes")
	before := time.Now().Add(-time.Second)
	svc, hd := s.start(t, Exit3)
	s.waitExit(t, s.r, hd)
	s.waitForLog(t, svc, "boom")
	if out := s.logs(t, svc, runtime.LogOptions{Tail: -1, Since: before}); !strings.Contains(out, "boom") {
		t.Errorf("since before the start = %q; want boom", out)
	}
	if out := s.logs(t, svc, runtime.LogOptions{Tail: -1, Since: time.Now().Add(time.Second)}); strings.Contains(out, "boom") {
		t.Errorf("since after the last line = %q; want nothing", out)
	}
}

// Follow with tail 0 gives the lines written from then on, until ctx ends.
func (s *suite) logsFollow(t *testing.T) {
	svc, _ := s.start(t, Tick)
	s.waitForLog(t, svc, "tick")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rc, err := s.r.Logs(ctx, svc, runtime.LogOptions{Follow: true, Tail: 0})
	if err != nil {
		t.Fatalf("follow the logs of %s: %v", svc.Name, err)
	}
	defer rc.Close()
	lines := make(chan string)
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		sc := bufio.NewScanner(rc)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
			}
		}
	}()
	timeout := time.After(s.deadline())
	for n := 0; n < 2; {
		select {
		case l := <-lines:
			if strings.Contains(l, "ready") {
				t.Fatalf("follow with tail 0 gave history: %q", l)
			}
			if strings.Contains(l, "tick") {
				n++
			}
		case <-timeout:
			t.Fatalf("following gave no new tick within %s", s.deadline())
		}
	}
	cancel()
	select {
	case <-ended:
	case <-time.After(s.deadline()):
		t.Fatalf("following did not end within %s of its context", s.deadline())
	}
}
