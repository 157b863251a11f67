package process_test

import (
	"context"
	"testing"

	"github.com/berthdev/berth/metadata"
)

// A service that exits at once is still launched and recorded: its start
// time is read before its exit status is collected (a zombie keeps its
// /proc entry; a reaped process has none), so the launch cannot fail with
// "record PID" however fast the service ends.
func TestServiceThatExitsAtOnceIsRecorded(t *testing.T) {
	r := newRunner()
	for range 200 {
		svc := service(t, "quick")
		svc.Argv = []string{"true"}
		svc.Log.To = metadata.LogDiscard // no log writer to wait for
		h, err := r.Start(context.Background(), svc)
		if err != nil {
			t.Fatalf("start of a service that exits at once: %v", err)
		}
		if _, err := r.Wait(context.Background(), h); err != nil {
			t.Fatal(err)
		}
		r.Release(h.PID)
	}
}
