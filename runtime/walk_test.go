package runtime

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
)

func TestWalk(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name     string
		nodes    []string
		gates    map[string][]gate
		opts     walkOptions
		fail     string
		want     string // visit order, where it is determined
		visited  string // set of visited nodes, sorted
		maxInUse int    // upper bound on concurrent slot holders
	}{
		{"limit 1 keeps the order", []string{"a", "b", "c", "d"}, nil, walkOptions{limit: 1, slotUntilDone: true}, "", "a b c d", "a b c d", 1},
		{"dependency first despite order", []string{"web", "db"}, map[string][]gate{"web": {{node: "db", done: true}}}, walkOptions{limit: 1, slotUntilDone: true}, "", "db web", "db web", 1},
		{"failure ends scheduling", []string{"a", "b", "c"}, nil, walkOptions{limit: 1, slotUntilDone: true}, "b", "a b", "a b", 1},
		// Going on past failures (stop all) treats a failed node as finished,
		// so what waits for it is still visited; otherwise it is skipped.
		{"going on, a failure does not skip what waits for it", []string{"db", "web", "other"}, map[string][]gate{"web": {{node: "db", done: true}}}, walkOptions{keepGoing: true, slotUntilDone: true}, "db", "", "db other web", 3},
		{"not going on, a failure skips what waits for it", []string{"db", "web", "other"}, map[string][]gate{"web": {{node: "db", done: true}}}, walkOptions{slotUntilDone: true}, "db", "", "db other", 2},
		{"limit bounds concurrency", []string{"a", "b", "c", "d", "e", "f"}, nil, walkOptions{limit: 2, slotUntilDone: true}, "", "", "a b c d e f", 2},
		{"unknown gate nodes are ignored", []string{"a"}, map[string][]gate{"a": {{node: "zz", done: true}}}, walkOptions{}, "", "a", "a", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var order []string
			inUse, maxSeen := 0, 0
			err := walk(context.Background(), tc.nodes, tc.gates, tc.opts, func(_ context.Context, n string, launched func()) error {
				mu.Lock()
				order = append(order, n)
				inUse++
				maxSeen = max(maxSeen, inUse)
				mu.Unlock()
				defer func() { mu.Lock(); inUse--; mu.Unlock() }()
				launched()
				if n == tc.fail {
					return boom
				}
				return nil
			})
			if (tc.fail != "") != errors.Is(err, boom) {
				t.Fatalf("err = %v", err)
			}
			if tc.want != "" && strings.Join(order, " ") != tc.want {
				t.Errorf("order %v, want %s", order, tc.want)
			}
			got := slices.Clone(order)
			slices.Sort(got)
			if strings.Join(got, " ") != tc.visited {
				t.Errorf("visited %v, want %s", got, tc.visited)
			}
			if maxSeen > tc.maxInUse {
				t.Errorf("%d visits at once, limit %d", maxSeen, tc.maxInUse)
			}
		})
	}
}

// A started gate opens when the node calls launched, before its visit ends;
// a done gate waits for the end.
func TestWalkGates(t *testing.T) {
	for _, done := range []bool{false, true} {
		release := make(chan struct{})
		var mu sync.Mutex
		var events []string
		walk(context.Background(), []string{"db", "web"}, map[string][]gate{"web": {{node: "db", done: done}}}, walkOptions{},
			func(_ context.Context, n string, launched func()) error {
				// Recorded before the gate opens: web may run at once.
				mu.Lock()
				events = append(events, n+" launched")
				mu.Unlock()
				launched()
				if n == "db" {
					if !done {
						<-release // held until web has run
					}
					mu.Lock()
					events = append(events, "db ready")
					mu.Unlock()
				} else if !done {
					close(release)
				}
				return nil
			})
		want := "db launched, db ready, web launched"
		if !done {
			want = "db launched, web launched, db ready"
		}
		if got := strings.Join(events, ", "); got != want {
			t.Errorf("done=%v: %s, want %s", done, got, want)
		}
	}
}
