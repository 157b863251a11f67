package process_test

import (
	"context"
	"io"
	"testing"

	"github.com/berthdev/berth/runtime"
)

// A started service has a log file at once, even before its log writer
// (a process of its own) has copied a line into it: `berth start web &&
// berth logs web` shows what there is, never "no log file yet" (the demo
// hit that under load: the service had printed, its log writer had not
// written yet). Here the service prints nothing for an hour.
func TestStartedServiceHasALogFile(t *testing.T) {
	ctx := context.Background()
	r := newRunner()
	svc := service(t, "quiet", "--ready-after", "1h")
	if _, err := r.Start(ctx, svc); err != nil {
		t.Fatal(err)
	}
	rc, err := r.Logs(ctx, svc, runtime.LogOptions{})
	if err != nil {
		t.Fatalf("logs right after start: %v; want the (empty) log", err)
	}
	defer rc.Close()
	if b, err := io.ReadAll(rc); err != nil || len(b) != 0 {
		t.Fatalf("log = %q, %v; want empty", b, err)
	}
}
