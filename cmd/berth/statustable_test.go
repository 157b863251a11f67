package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/berth/runtime"
)

// countingWriter counts the writes it takes.
type countingWriter struct {
	strings.Builder
	writes int
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.writes++
	return c.Builder.Write(p)
}

// A status table goes to its stream in one write, not cell by cell (each
// write is a system call on a file or terminal), and reads as before.
func TestStatusTableIsOneWrite(t *testing.T) {
	var states []runtime.State
	started := time.Now()
	for i := range 100 {
		pid := 1000 + i
		states = append(states, runtime.State{Name: fmt.Sprintf("s%03d", i), State: runtime.Running,
			PID: pid, Handle: &runtime.Handle{PID: pid}, StartedAt: &started, Uptime: "0s"})
	}
	var w countingWriter
	writeStatusTable(&w, states, false, nil)
	if w.writes != 1 {
		t.Errorf("the table of 100 services took %d writes, want 1", w.writes)
	}
	lines := strings.Split(strings.TrimSuffix(w.String(), "\n"), "\n")
	if len(lines) != 101 || lines[0] != "SERVICE  STATE    PID   UPTIME" || lines[1] != "s000     running  1000  0s" {
		t.Errorf("the table reads\n%s", strings.Join(lines[:min(3, len(lines))], "\n"))
	}
}

// describedAs is a runner's detail that describes itself as given.
type describedAs string

func (d describedAs) Describe() string { return string(d) }

// The status lines other programs parse, appended in place, read as
// fmt wrote them: "name: Running (PID n)", a runner's own description
// (or the PID where it gives none), "name: Unknown", "name: Stopped".
func TestStatusLineForms(t *testing.T) {
	for _, tc := range []struct {
		st   runtime.State
		want string
	}{
		{runtime.State{Name: "api", State: runtime.Running, PID: 4242}, "api: Running (PID 4242)"},
		{runtime.State{Name: "web", State: runtime.Running, PID: 7, Detail: describedAs("container 0123456789ab")}, "web: Running (container 0123456789ab)"},
		{runtime.State{Name: "w2", State: runtime.Running, PID: 8, Detail: describedAs("")}, "w2: Running (PID 8)"},
		{runtime.State{Name: "box", State: runtime.Unknown, PID: 9}, "box: Unknown"},
		{runtime.State{Name: "core", State: runtime.Stopped, PID: 10, Detail: describedAs("x")}, "core: Stopped"},
	} {
		old := fmt.Sprintf("%s: Stopped", tc.st.Name)
		switch {
		case tc.st.IsRunning():
			old = fmt.Sprintf("%s: Running (%s)", tc.st.Name, tc.st.Describe())
		case tc.st.State == runtime.Unknown:
			old = fmt.Sprintf("%s: Unknown", tc.st.Name)
		}
		if got := statusLine(tc.st); got != tc.want || got != old {
			t.Errorf("statusLine(%+v) = %q, want %q (fmt's form %q)", tc.st, got, tc.want, old)
		}
	}
}
