package main

import (
	"testing"

	"github.com/berthdev/berth/hack/testkit"
)

// restart all keeps the supervisor: its stops leave it watching nothing
// for a moment, and it used to exit then, just before the start that
// follows spawned another (a new process, its adoption and records, some
// 10 ms on a slow machine, for nothing). Once the restart is over, the
// hold is gone: stop all ends the supervisor as before.
func TestRestartKeepsTheSupervisor(t *testing.T) {
	root := supervisedEnv(t, "", `  a:
    command: [TESTSVC]
  b:
    command: [TESTSVC]
`)
	before := mustStart(t, root, "all")
	sup := supervisorPID(root)
	if sup == 0 {
		t.Fatal("no supervisor after start all")
	}
	if out, code := berthEnv(t, root, "restart", "all"); code != 0 {
		t.Fatalf("restart all: %d\n%s", code, out)
	}
	after := pids(t, root)
	for _, n := range []string{"a", "b"} {
		if after[n] == 0 || after[n] == before[n] {
			t.Fatalf("%s: PID %d after the restart (was %d)", n, after[n], before[n])
		}
	}
	if now := supervisorPID(root); now != sup || !testkit.Running(sup) {
		t.Fatalf("restart all replaced the supervisor %d with %d", sup, now)
	}
	if out, code := berthEnv(t, root, "stop", "all"); code != 0 {
		t.Fatalf("stop all: %d\n%s", code, out)
	}
	waitSupervisorGone(t, root)
}
