package main

import (
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/berthdev/berth/metadata"
	"github.com/berthdev/berth/runtime/supervisor"
)

// procsSet records the GOMAXPROCS the code under test asked for, in place
// of setting it: commands run in the test's own process.
var procsSet struct {
	sync.Mutex
	n []int
}

func init() {
	setMaxProcs = func(n int) int {
		procsSet.Lock()
		defer procsSet.Unlock()
		procsSet.n = append(procsSet.n, n)
		return 0
	}
}

func procsAsked() []int {
	procsSet.Lock()
	defer procsSet.Unlock()
	return append([]int(nil), procsSet.n...)
}

// A command of a supervised environment runs on one processor once its
// first launch through the supervisor is answered (the supervisor's
// runner tells it once: TestLaunchedOnceLaunching); a GOMAXPROCS the user
// set is left alone.
func TestOneProcessorOnceLaunching(t *testing.T) {
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "berth.yaml"), []byte("version: 1\nsupervisor: true\nservices:\n  api:\n    command: [sleep, \"1\"]\n"), 0o644)
	os.WriteFile(filepath.Join(root, ".metadata"), []byte("template=test\nenvironment_root="+root+"\n"), 0o644)
	env, err := metadata.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	reg := newRegistryOf(env, io.Discard, nil)
	defer reg.Close()
	run, err := reg.Runner(metadata.RunnerProcess)
	if err != nil {
		t.Fatal(err)
	}
	r, ok := run.(*supervisor.Runner)
	if !ok || r.Launched == nil {
		t.Fatalf("the process runner of a supervised environment is %T, told of no launch", run)
	}
	t.Setenv("GOMAXPROCS", "")
	os.Unsetenv("GOMAXPROCS")
	before := len(procsAsked())
	r.Launched()
	if got := procsAsked()[before:]; len(got) != 1 || got[0] != 1 {
		t.Errorf("the first launch asked for GOMAXPROCS %v, want 1 once", got)
	}
	t.Setenv("GOMAXPROCS", "2")
	before = len(procsAsked())
	r.Launched()
	if got := procsAsked()[before:]; len(got) != 0 {
		t.Errorf("with GOMAXPROCS set, the command asked for %v", got)
	}
}
