package container_test

import (
	"bufio"
	"context"
	"io"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	dcontainer "github.com/docker/docker/api/types/container"

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

// TestLogsFollowAcrossInPlaceRestart: Docker itself starts the same
// container again (restart policy on-failure, same ID); logs -f goes on
// into the second run, and what it passed on is exactly the container's
// whole log: both runs, in order, no line twice, none lost.
func TestLogsFollowAcrossInPlaceRestart(t *testing.T) {
	r := newRunner(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// Each run prints "ready", ticks, then "dying", and exits 5; one retry.
	svc := service(t, testImg, "--tick", "20ms", "--die-after", "300ms")
	svc.Container.Restart = "on-failure:1"
	h, err := r.Start(ctx, svc)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := r.Logs(ctx, svc, runtime.LogOptions{Follow: true, Tail: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var got []string
	sc := bufio.NewScanner(rc)
	for len(got) < 1000 && sc.Scan() {
		got = append(got, sc.Text())
		if strings.Count(strings.Join(got, "\n"), "dying") == 2 {
			break
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("follow ended: %v after %q", err, got)
	}
	info, err := cli.ContainerInspect(ctx, h.ID)
	if err != nil {
		t.Fatal(err)
	}
	if info.RestartCount != 1 {
		t.Fatalf("the container restarted %d times, want 1 (the test needs an in-place restart)", info.RestartCount)
	}
	// The daemon's whole log once the container is done for good.
	waitc, errc := cli.ContainerWait(ctx, h.ID, dcontainer.WaitConditionNotRunning)
	select {
	case <-waitc:
	case err := <-errc:
		t.Fatal(err)
	}
	all, err := r.Logs(ctx, svc, runtime.LogOptions{Tail: -1})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(all)
	want := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if !slices.Equal(got, want) {
		t.Fatalf("followed lines:\n%s\nthe container's log:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if first := slices.Index(got, "dying"); first < 0 || first == len(got)-1 || !slices.Contains(got[first+1:], "tick 1") {
		t.Fatalf("no second run after the first \"dying\":\n%s", strings.Join(got, "\n"))
	}
}
