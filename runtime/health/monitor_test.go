package health

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/berthdev/berth/metadata"
)

func TestTracker(t *testing.T) {
	type step struct {
		healthy bool
		state   State
		changed bool
	}
	tests := []struct {
		name    string
		retries int
		steps   []step
	}{
		{"first result is reported", 3, []step{{true, StateHealthy, true}, {true, StateHealthy, false}}},
		{"first failure is reported", 3, []step{{false, StateUnhealthy, true}, {false, StateUnhealthy, false}, {true, StateHealthy, true}}},
		{"unhealthy after retries failures in a row", 3, []step{
			{true, StateHealthy, true}, {false, StateHealthy, false}, {false, StateHealthy, false}, {false, StateUnhealthy, true},
			{true, StateHealthy, true}, {false, StateHealthy, false}, {true, StateHealthy, false}, {false, StateHealthy, false},
		}},
		{"retries of one flips at once", 1, []step{{true, StateHealthy, true}, {false, StateUnhealthy, true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := NewTracker(&metadata.HealthCheck{Retries: tt.retries})
			for i, s := range tt.steps {
				st, ch := tr.Observe(Result{Healthy: s.healthy})
				if st != s.state || ch != s.changed {
					t.Fatalf("step %d: Observe(healthy=%v) = %q, %v; want %q, %v", i, s.healthy, st, ch, s.state, s.changed)
				}
			}
		})
	}
}

func TestWatchSeesAServiceGoDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go acceptAndClose(ln)
	hc := &metadata.HealthCheck{Type: "tcp", Address: ln.Addr().String(), Retries: 2}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var changes []State
	checks := 0
	err = Watch(ctx, hc, Options{}, 5*time.Millisecond, func(r Result, s State, changed bool) {
		checks++
		if changed {
			changes = append(changes, s)
		}
		if checks == 2 {
			ln.Close()
		}
		if len(changes) == 2 {
			cancel()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 2 || changes[0] != StateHealthy || changes[1] != StateUnhealthy {
		t.Fatalf("changes %v, want healthy then unhealthy", changes)
	}
	if checks < 4 {
		t.Errorf("unhealthy after %d checks; with retries 2 it takes two failures after two passes", checks)
	}
}
