package container_test

import (
	"bufio"
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/berthdev/berth/runtime"
)

// logs -f keeps following a container service across a restart (a stop,
// then a start that makes a new container), until its context ends.
func TestLogsFollowAcrossRestart(t *testing.T) {
	r := newRunner(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	svc := service(t, testImg, "--print", "first-run")
	h, err := r.Start(ctx, svc)
	if err != nil {
		t.Fatal(err)
	}
	fctx, stopFollow := context.WithCancel(ctx)
	rc, err := r.Logs(fctx, svc, runtime.LogOptions{Follow: true, Tail: -1})
	if err != nil {
		t.Fatal(err)
	}
	lines := make(chan string)
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		sc := bufio.NewScanner(rc)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-fctx.Done():
				return
			}
		}
	}()
	waitLine := func(want string) {
		t.Helper()
		for {
			select {
			case l := <-lines:
				if l == want {
					return
				}
			case <-ended:
				t.Fatalf("the follow ended before %q", want)
			case <-ctx.Done():
				t.Fatalf("no line %q within a minute", want)
			}
		}
	}
	waitLine("first-run")
	if err := r.Stop(ctx, svc, h, runtime.StopOptions{Signal: syscall.SIGTERM, Grace: 5 * time.Second}); err != nil {
		t.Fatal(err)
	}
	svc.Argv = []string{"--print", "second-run"}
	h, err = r.Start(ctx, svc)
	if err != nil {
		t.Fatal(err)
	}
	waitLine("second-run")
	stopFollow()
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		t.Fatal("the follow did not end with its context")
	}
	rc.Close()
	r.Stop(ctx, svc, h, runtime.StopOptions{Signal: syscall.SIGTERM, Grace: 5 * time.Second, Kill: true})
}
