package main

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// lifecycleTests are the command-line lifecycle tests of host services:
// they assert exact outputs, exit codes and what ps shows, so passing in
// both modes means the same results with and without a supervisor.
var lifecycleTests = []string{
	"TestCLIStatusStartStop", "TestCLIForegroundPTY", "TestCLIKilledMidStart", "TestCLIStatusWithoutDaemon",
	"TestCLIHealthDepsStatusWide", "TestCLIConfirmCriticalPTY", "TestCLIHealthWatch", "TestCLICopiedEnvironment",
	"TestCLIStartOrderOneAtATime", "TestCLIRestartPrintsStoppedLines", "TestCLIBadLinesDoNotBlockStatusAndStop",
	"TestCLIDockerAwayHostServicesStillManaged", "TestConfirmCriticalThroughInjectedStdin",
	"TestConfirmRefusedWithoutTerminal", "TestForegroundOnBuffers", "TestLogsCommand",
}

// The suite runs with the supervisor, berth's default; this runs the
// lifecycle tests again in a test binary of their own with
// BERTH_SUPERVISOR=0, as an environment with supervisor: false runs.
// BERTH_SUPERVISOR set for the whole suite pins one mode and skips this.
func TestLifecycleWithoutSupervisor(t *testing.T) {
	if os.Getenv("BERTH_SUPERVISOR") != "" {
		t.Skip("BERTH_SUPERVISOR is set: the suite runs in one mode only")
	}
	if testing.Short() {
		t.Skip("-short")
	}
	cmd := exec.Command(os.Args[0], "-test.count=1", "-test.v", "-test.run=^("+strings.Join(lifecycleTests, "|")+")$")
	cmd.Env = append(os.Environ(), "BERTH_SUPERVISOR=0", "BERTH_TEST_BERTH="+berthBin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("lifecycle tests without a supervisor: %v\n%s", err, out)
	}
	for _, name := range lifecycleTests {
		if !strings.Contains(string(out), "--- PASS: "+name+" ") && !strings.Contains(string(out), "--- SKIP: "+name+" ") {
			t.Errorf("%s did not run without a supervisor", name)
		}
	}
	if t.Failed() {
		t.Logf("output:\n%s", out)
	}
}

// An environment runs its detached host services under a supervisor
// unless its manifest says supervisor: false: then berth launches and
// forgets them as before, and no supervisor is started.
func TestSupervisorIsTheDefault(t *testing.T) {
	if os.Getenv("BERTH_SUPERVISOR") != "" {
		t.Skip("BERTH_SUPERVISOR is set: it decides over the manifest")
	}
	for _, tc := range []struct {
		key        string
		supervised bool
	}{{"", true}, {"supervisor: true\n", true}, {"supervisor: false\n", false}} {
		root := t.TempDir()
		manifest := "version: 1\n" + tc.key + "services:\n  api:\n    command: [" + testsvcBin + "]\n"
		os.WriteFile(root+"/berth.yaml", []byte(manifest), 0o644)
		os.WriteFile(root+"/.metadata", []byte("template=test\nenvironment_root="+root+"\n"), 0o644)
		stopAllAtCleanup(t, root)
		pid := mustStart(t, root, "api")["api"]
		sup := supervisorPID(root)
		if got := sup > 0 && parentOf(pid) == sup; got != tc.supervised {
			t.Errorf("%q: api (PID %d, parent %d) supervised %v, want %v (supervisor %d)", tc.key, pid, parentOf(pid), got, tc.supervised, sup)
		}
		if out, code := berthEnv(t, root, "stop", "api"); code != 0 {
			t.Fatalf("stop: %d %s", code, out)
		}
		waitSupervisorGone(t, root)
	}
}

func parentOf(pid int) int {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
	ppid, _ := strconv.Atoi(f[1])
	return ppid
}
