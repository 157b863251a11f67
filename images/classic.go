package images

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// classicSteps gives the classic builder's steps the timers BuildKit's
// have: once a step ends (the next "Step N/M :" or "Successfully built"),
// a line "Step N/M DONE 1.2s"; on a terminal also a line at the bottom,
// redrawn in place, with the time of the step under way. Every write of
// the build's output goes through write, which takes that line off first.
type classicSteps struct {
	out      io.Writer
	terminal bool

	mu      sync.Mutex
	step    string // "Step 2/4", "" between steps
	start   time.Time
	drawn   bool // the timer line is on the screen
	midLine bool // the output's last line has no newline yet
	stop    chan struct{}
}

func newClassicSteps(out io.Writer, terminal bool) *classicSteps {
	s := &classicSteps{out: out, terminal: terminal, stop: make(chan struct{})}
	if terminal {
		go s.redraw()
	}
	return s
}

// write shows one message of the build's output: text is the daemon's
// stream (nil-safe show does the writing), and a step's start or the
// build's end in it starts or ends a timer.
func (s *classicSteps) write(text string, show func() error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.erase()
	switch {
	case strings.HasPrefix(text, "Step "):
		s.done()
		if head, _, ok := strings.Cut(text, " : "); ok {
			s.step, s.start = head, time.Now()
		}
	case strings.HasPrefix(text, "Successfully built "):
		s.done()
	}
	err := show()
	if text != "" {
		s.midLine = !strings.HasSuffix(text, "\n")
	}
	return err
}

// end stops the timer: the build is over (or failed, when the step under
// way gets no DONE line).
func (s *classicSteps) end() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stop != nil {
		close(s.stop)
		s.stop = nil
	}
	s.erase()
}

// done writes the DONE line of the step under way. Called with mu held.
func (s *classicSteps) done() {
	if s.step == "" {
		return
	}
	if s.midLine {
		fmt.Fprintln(s.out)
		s.midLine = false
	}
	fmt.Fprintf(s.out, "%s DONE %.1fs\n", s.step, time.Since(s.start).Seconds())
	s.step = ""
}

// erase takes the timer line off the terminal. Called with mu held.
func (s *classicSteps) erase() {
	if s.drawn {
		fmt.Fprint(s.out, "\r\x1b[K")
		s.drawn = false
	}
}

func (s *classicSteps) redraw() {
	tick := time.NewTicker(uploadPoll)
	defer tick.Stop()
	s.mu.Lock()
	stop := s.stop
	s.mu.Unlock()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
			s.mu.Lock()
			// Only below a finished line: a partial one stays as it is.
			if s.step != "" && !s.midLine {
				fmt.Fprintf(s.out, "\r\x1b[K%s %.1fs", s.step, time.Since(s.start).Seconds())
				s.drawn = true
			}
			s.mu.Unlock()
		}
	}
}
