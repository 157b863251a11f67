package supervisor

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// Events appended at the same time, without a lock between them, each
// land whole on a line of their own.
func TestAppendEventConcurrentLinesWhole(t *testing.T) {
	p := PathsOf(t.TempDir())
	const writers, each = 8, 50
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				e := Event{Service: fmt.Sprintf("s%d", w), Kind: EventStopped, PID: i, Reason: strings.Repeat("x", 1000)}
				if err := AppendEvent(p, e); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	evs, err := ReadEvents(p, nil, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(p.Events)
	if lines := strings.Count(string(data), "\n"); len(evs) != writers*each || lines != writers*each {
		t.Fatalf("%d events read, %d lines, want %d", len(evs), lines, writers*each)
	}
	seen := map[string]bool{}
	for _, e := range evs {
		seen[fmt.Sprintf("%s/%d", e.Service, e.PID)] = true
	}
	if len(seen) != writers*each {
		t.Fatalf("%d distinct events, want %d", len(seen), writers*each)
	}
}

// The log is rotated once it has grown past maxEventLog: one older file is
// kept, and the events read are those of both.
func TestAppendEventRotates(t *testing.T) {
	p := PathsOf(t.TempDir())
	reason := strings.Repeat("y", 4000)
	n := 0
	for ; ; n++ {
		if _, err := os.Stat(p.Events + ".1"); err == nil {
			break
		}
		if n > 2*maxEventLog/len(reason) {
			t.Fatalf("no rotation after %d events of %d bytes", n, len(reason))
		}
		if err := AppendEvent(p, Event{Service: "api", Kind: EventStarted, PID: n, Reason: reason}); err != nil {
			t.Fatal(err)
		}
	}
	fi, err := os.Stat(p.Events + ".1")
	if err != nil || fi.Size() <= maxEventLog || fi.Size() > maxEventLog+int64(len(reason))+200 {
		t.Fatalf("rotated log: %v, %v; want just past %d bytes", fi.Size(), err, maxEventLog)
	}
	if err := AppendEvent(p, Event{Service: "api", Kind: EventStopped, PID: n}); err != nil {
		t.Fatal(err)
	}
	evs, err := ReadEvents(p, []string{"api"}, time.Time{})
	if err != nil || len(evs) != n+1 || evs[n].Kind != EventStopped || evs[0].PID != 0 {
		t.Fatalf("read %d events (%v), want %d ending with the stop", len(evs), err, n+1)
	}
}
