package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/berth/images/imagetest"
)

// TestDoctorReportsSwarmAndRegistries on the real daemon made a
// single-node swarm: the swarm line names the manager and its node, a
// registry served by the test process is reachable and a closed port is
// not (a warning: only a service on swarm makes the swarm required).
func TestDoctorReportsSwarmAndRegistries(t *testing.T) {
	c := requireDaemon(t)
	leave, err := imagetest.Swarm(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	defer leave()
	addr, stop, err := imagetest.Registry()
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	root := imageEnv(t, "SSE_CONTAINER_IMAGE=berth-doctor-probe:1\n")
	manifest := filepath.Join(root, "berth.yaml")
	b, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	extra := "    registry: " + addr + "/team\n  other:\n    component: engine\n    context: sse_runtime\n    tag: berth-doctor-other:1\n    registry: 127.0.0.1:1/team\n"
	if err := os.WriteFile(manifest, append(b, extra...), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	code, out, errOut := berthInProcess("doctor", "-o", "json", "--env", root)
	t.Logf("doctor took %s", time.Since(start))
	var checks []check
	if err := json.Unmarshal([]byte(out), &checks); err != nil {
		t.Fatalf("doctor: exit %d, %v: %s %s", code, err, out, errOut)
	}
	var sw *check
	var regs []check
	for i, ch := range checks {
		switch ch.Name {
		case "swarm":
			sw = &checks[i]
		case "registry":
			regs = append(regs, ch)
		}
	}
	if sw == nil || !sw.OK || sw.Required || !strings.HasPrefix(sw.Detail, "manager; 1 node(s): ") || !strings.Contains(sw.Detail, " ready active leader") {
		t.Errorf("swarm check %+v: want a manager with one ready leader node, not required", sw)
	}
	if len(regs) != 2 || !regs[0].OK || !strings.Contains(regs[0].Detail, addr+"/team reachable from the daemon") ||
		regs[1].OK || regs[1].Required || !strings.Contains(regs[1].Detail, "the daemon cannot reach 127.0.0.1:1/team") {
		t.Errorf("registry checks %+v: want %s reachable and 127.0.0.1:1 not", regs, addr)
	}
	if code != 0 {
		t.Errorf("doctor exit %d: %s %s", code, out, errOut)
	}
}
