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
