package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berthdev/berth/hack/testkit"
	"github.com/berthdev/berth/runtime/supervisor"
)

// supervisedEnv makes an environment at root (a new temporary directory
// when empty) with supervisor: true and the services given as YAML. Its
// cleanup stops everything and waits for the supervisor to be gone.
func supervisedEnv(t *testing.T, root, services string) string {
	t.Helper()
	if root == "" {
		root = t.TempDir()
	}
	os.MkdirAll(root, 0o755)
	manifest := "version: 1\nsupervisor: true\nservices:\n" + strings.ReplaceAll(services, "TESTSVC", testsvcBin)
	os.WriteFile(filepath.Join(root, "berth.yaml"), []byte(manifest), 0o644)
	os.WriteFile(filepath.Join(root, ".metadata"), []byte("template=test\nenvironment_root="+root+"\n"), 0o644)
	t.Cleanup(func() {
		berthEnv(t, root, "stop", "all", "--force", "--timeout", "1s")
		if pid := supervisorPID(root); pid > 0 {
			syscall.Kill(pid, syscall.SIGTERM)
		}
		waitSupervisorGone(t, root)
	})
	return root
}

func supervisorPID(root string) int {
	var rec struct{ PID int }
	data, err := os.ReadFile(supervisor.PathsOf(root).PID)
	if err != nil || json.Unmarshal(data, &rec) != nil {
		return 0
	}
	return rec.PID
}

func waitSupervisorGone(t *testing.T, root string) {
	t.Helper()
	testkit.Eventually(t, 10*time.Second, func() error {
		if pid := supervisorPID(root); pid > 0 && testkit.Running(pid) {
			return fmt.Errorf("supervisor %d still runs", pid)
		}
		return nil
	})
}

// stopAllAtCleanup stops what the test started in root when it ends, and
// then its supervisor, if one is still up (with containers it waits for
// the engine's events up to its idle exit, writing under root): the
// test's directory is removed only once nothing writes there.
func stopAllAtCleanup(t *testing.T, root string, extra ...string) {
	t.Cleanup(func() {
		berthEnv(t, root, append([]string{"stop", "all", "--force", "--timeout", "1s"}, extra...)...)
		if pid := supervisorPID(root); pid > 0 && testkit.Running(pid) {
			syscall.Kill(pid, syscall.SIGTERM)
		}
		waitSupervisorGone(t, root)
	})
}

var runningRE = regexp.MustCompile(`(?m)^(\S+): Running \(PID (\d+)\)$`)

// pids maps the running services of root to their PIDs, from status.
func pids(t *testing.T, root string) map[string]int {
	t.Helper()
	out, _ := berthEnv(t, root, "status")
	m := map[string]int{}
	for _, sm := range runningRE.FindAllStringSubmatch(out, -1) {
		m[sm[1]], _ = strconv.Atoi(sm[2])
	}
	return m
}

func events(t *testing.T, root string, services ...string) []supervisor.Event {
	t.Helper()
	out, code := berthEnv(t, root, append([]string{"events", "-o", "json"}, services...)...)
	var evs []supervisor.Event
	if code != 0 || json.Unmarshal([]byte(out), &evs) != nil {
		t.Fatalf("events: %d %s", code, out)
	}
	return evs
}

func hasEvent(evs []supervisor.Event, service, kind, text string) bool {
	for _, e := range evs {
		if e.Service == service && e.Kind == kind && strings.Contains(e.Text(), text) {
			return true
		}
	}
	return false
}

func mustStart(t *testing.T, root string, names ...string) map[string]int {
	t.Helper()
	if out, code := berthEnv(t, root, append([]string{"start"}, names...)...); code != 0 {
		t.Fatalf("start: %d\n%s", code, out)
	}
	return pids(t, root)
}

// restartedFrom waits until name runs under another PID than old.
func restartedFrom(t *testing.T, root, name string, old int) int {
	t.Helper()
	var now int
	testkit.Eventually(t, 10*time.Second, func() error {
		now = pids(t, root)[name]
		if now == 0 || now == old {
			return fmt.Errorf("%s: PID %d (was %d), want a new one", name, now, old)
		}
		return nil
	})
	return now
}

func TestSupervisorRestartPolicies(t *testing.T) {
	root := supervisedEnv(t, "", `  never:
    command: [TESTSVC]
  onfail:
    command: [TESTSVC]
    restart: on-failure
    restart_backoff: {initial: 0s}
  always:
    command: [TESTSVC]
    restart: always
    restart_backoff: {initial: 0s}
`)
	before := mustStart(t, root, "all")
	for _, n := range []string{"never", "onfail", "always"} {
		syscall.Kill(before[n], syscall.SIGKILL)
	}
	restartedFrom(t, root, "onfail", before["onfail"])
	restartedFrom(t, root, "always", before["always"])
	testkit.Eventually(t, 10*time.Second, func() error {
		if p := pids(t, root)["never"]; p != 0 {
			return fmt.Errorf("never runs as %d", p)
		}
		if !hasEvent(events(t, root), "never", supervisor.EventExited, "signal KILL") {
			return fmt.Errorf("no exit event for never")
		}
		return nil
	})
	out, _ := berthEnv(t, root, "status", "never")
	if out != "never: Stopped\n" {
		t.Fatalf("plain status line: %q", out)
	}
	out, code := berthEnv(t, root, "status", "-o", "json")
	var states []struct {
		Name string
		Run  *struct {
			Restarts int    `json:"restarts"`
			LastExit string `json:"last_exit"`
			ExitCode *int   `json:"exit_code"`
			Down     bool   `json:"down"`
		}
	}
	if err := json.Unmarshal([]byte(out), &states); err != nil {
		t.Fatalf("status -o json (%d): %v\n%s", code, err, out)
	}
	for _, st := range states {
		if st.Run == nil || st.Run.LastExit != "signal KILL" || st.Run.ExitCode == nil || *st.Run.ExitCode != 137 {
			t.Errorf("%s: run %+v, want last exit signal KILL (137)", st.Name, st.Run)
		}
		if want := st.Name != "never"; (st.Run != nil && st.Run.Restarts == 1) != want {
			t.Errorf("%s: restarts %+v", st.Name, st.Run)
		}
	}
	if out, code := berthEnv(t, root, "health"); code == 0 || !strings.Contains(out, "never is down: signal KILL") {
		t.Fatalf("health with a crashed service: %d\n%s", code, out)
	}
	if out, _ := berthEnv(t, root, "status", "-o", "wide"); !strings.Contains(out, "LAST EXIT") || !strings.Contains(out, "signal KILL") {
		t.Fatalf("status -o wide:\n%s", out)
	}

	// A user stop is never restarted, whatever the policy; the supervisor
	// exits with its last service.
	if out, code := berthEnv(t, root, "stop", "all"); code != 0 {
		t.Fatalf("stop all: %s", out)
	}
	waitSupervisorGone(t, root)
	if p := pids(t, root); len(p) != 0 {
		t.Fatalf("running after stop all: %v", p)
	}
	evs := events(t, root, "always")
	if last := evs[len(evs)-1]; last.Kind != supervisor.EventStopped || last.Reason != "by user" {
		t.Fatalf("last event of always: %+v", last)
	}
	if out, code := berthEnv(t, root, "health"); code != 0 {
		t.Fatalf("health after a user stop: %d\n%s", code, out)
	}
}

func TestSupervisorGivesUpAndStopsDependents(t *testing.T) {
	root := supervisedEnv(t, "", `  api:
    command: [TESTSVC, -die-after, 400ms]
    restart: always
    max_restarts: 2
    restart_backoff: {initial: 10ms, factor: 3}
  web:
    command: [TESTSVC]
    depends_on: [api]
`)
	mustStart(t, root, "all")
	testkit.Eventually(t, 20*time.Second, func() error {
		if !hasEvent(events(t, root, "api"), "api", supervisor.EventGaveUp, "gave up after 2 restarts") {
			return fmt.Errorf("api has not given up yet")
		}
		if !hasEvent(events(t, root, "web"), "web", supervisor.EventCascade, "because api gave up after 2 restarts") {
			return fmt.Errorf("web was not stopped for api")
		}
		return nil
	})
	waitSupervisorGone(t, root)
	if p := pids(t, root); len(p) != 0 {
		t.Fatalf("running: %v", p)
	}
	var delays []string
	for _, e := range events(t, root, "api") {
		if e.Kind == supervisor.EventExited && (e.Exit == nil || e.Exit.Code != 5) {
			t.Errorf("exit not recorded as code 5: %+v", e)
		}
		if e.Kind == supervisor.EventRestarting {
			delays = append(delays, e.Delay)
		}
	}
	if strings.Join(delays, ",") != "10ms,30ms" {
		t.Errorf("backoff delays %v, want 10ms then 30ms", delays)
	}
	out, _ := berthEnv(t, root, "status", "-o", "wide")
	if !strings.Contains(out, "gave up after 2 restarts") || !strings.Contains(out, "exit code 5") {
		t.Fatalf("status -o wide:\n%s", out)
	}
}

func TestSupervisorBackoffResets(t *testing.T) {
	delays := []time.Duration{}
	for n := range 4 {
		delays = append(delays, supervisor.Backoff(100*time.Millisecond, 2, 300*time.Millisecond, n))
	}
	if fmt.Sprint(delays) != "[100ms 200ms 300ms 300ms]" {
		t.Fatalf("backoff: %v", delays)
	}
	// Real processes: a service that stays up past reset_after starts over.
	root := supervisedEnv(t, "", `  api:
    command: [TESTSVC]
    restart: always
    restart_backoff: {initial: 20ms, factor: 2, reset_after: 2s}
`)
	// reset_after is long enough that the kill "at once again" comes
	// within it however slowly a loaded machine shows the relaunch (with
	// 300ms it did not on a fifth of a CPU, hack/slow.sh 20: 20ms twice).
	p := mustStart(t, root, "api")["api"]
	syscall.Kill(p, syscall.SIGKILL) // up for a while: restart after 20ms
	p = restartedFrom(t, root, "api", p)
	syscall.Kill(p, syscall.SIGKILL) // at once again: 40ms
	p = restartedFrom(t, root, "api", p)
	testkit.Eventually(t, 10*time.Second, func() error { // stays up past reset_after
		if e := events(t, root, "api"); time.Since(e[len(e)-1].At) < 2100*time.Millisecond {
			return fmt.Errorf("not up for long yet")
		}
		return nil
	})
	syscall.Kill(p, syscall.SIGKILL)
	restartedFrom(t, root, "api", p)
	var got []string
	for _, e := range events(t, root, "api") {
		if e.Kind == supervisor.EventRestarting {
			got = append(got, e.Delay)
		}
	}
	if strings.Join(got, ",") != "20ms,40ms,20ms" {
		t.Fatalf("delays %v, want 20ms,40ms then 20ms after reset", got)
	}
}

func TestSupervisorLivenessAndDependencyRestart(t *testing.T) {
	port := freePort(t)
	root := supervisedEnv(t, "", fmt.Sprintf(`  api:
    command: [TESTSVC, -tcp, "127.0.0.1:%d"]
    restart: on-failure
    restart_backoff: {initial: 0s}
    health: {type: tcp, address: "127.0.0.1:%d", interval: 50ms}
  web:
    command: [TESTSVC]
    depends_on: {api: {condition: healthy, restart: true}}
    restart: on-failure
  probe:
    command: [TESTSVC]
    health: {type: file, path: probe.ok, interval: 50ms}
    liveness: {failures: 3}
    restart: always
    restart_backoff: {initial: 0s}
`, port, port))
	os.WriteFile(filepath.Join(root, "probe.ok"), nil, 0o644)
	before := mustStart(t, root, "all")
	// web is restarted once api is healthy again after its crash.
	syscall.Kill(before["api"], syscall.SIGKILL)
	restartedFrom(t, root, "api", before["api"])
	restartedFrom(t, root, "web", before["web"])
	// probe is restarted after three failed checks in a row.
	os.Remove(filepath.Join(root, "probe.ok"))
	restartedFrom(t, root, "probe", before["probe"])
	evs := events(t, root)
	if !hasEvent(evs, "probe", supervisor.EventUnhealthy, "3 failed checks in a row") ||
		!hasEvent(evs, "web", supervisor.EventExited, "because api restarted") {
		t.Fatalf("events:\n%v", evs)
	}
}

func TestSupervisorKilledThenAdopts(t *testing.T) {
	root := supervisedEnv(t, "", `  api:
    command: [TESTSVC]
    restart: always
    restart_backoff: {initial: 0s}
  gone:
    command: [TESTSVC]
`)
	before := mustStart(t, root, "all")
	old := supervisorPID(root)
	syscall.Kill(old, syscall.SIGKILL)
	testkit.Eventually(t, 5*time.Second, func() error {
		if testkit.Running(old) {
			return fmt.Errorf("supervisor %d still runs", old)
		}
		return nil
	})
	syscall.Kill(before["gone"], syscall.SIGKILL) // dies while nothing supervises it
	if p := pids(t, root); p["api"] != before["api"] {
		t.Fatalf("api after the supervisor was killed: %v (was %v)", p, before)
	}
	// That status started a new supervisor, which adopted api.
	if now := supervisorPID(root); now == old || now == 0 {
		t.Fatalf("supervisor %d, was %d", now, old)
	}
	syscall.Kill(before["api"], syscall.SIGKILL)
	restartedFrom(t, root, "api", before["api"])
	evs := events(t, root)
	if !hasEvent(evs, "api", supervisor.EventAdopted, "") || !hasEvent(evs, "gone", supervisor.EventUnwatched, "") ||
		!hasEvent(evs, "api", supervisor.EventExited, "exit status unknown") {
		t.Fatalf("events: %+v", evs)
	}
}

func TestSupervisorLongPathAndTwoEnvironments(t *testing.T) {
	deep := filepath.Join(t.TempDir(), strings.Repeat("d", 60), strings.Repeat("e", 60))
	if len(supervisor.PathsOf(deep).Socket) <= 108 {
		t.Fatalf("socket path too short for this test: %d", len(supervisor.PathsOf(deep).Socket))
	}
	spec := `  api:
    command: [TESTSVC]
    restart: always
    restart_backoff: {initial: 0s}
`
	a := supervisedEnv(t, deep, spec)
	b := supervisedEnv(t, "", spec)
	pa, pb := mustStart(t, a, "api")["api"], mustStart(t, b, "api")["api"]
	if supervisorPID(a) == supervisorPID(b) || supervisorPID(a) == 0 {
		t.Fatalf("supervisors %d and %d", supervisorPID(a), supervisorPID(b))
	}
	syscall.Kill(pa, syscall.SIGKILL)
	restartedFrom(t, a, "api", pa)
	if pids(t, b)["api"] != pb {
		t.Fatalf("b's service changed")
	}
	if out, code := berthEnv(t, a, "supervisor", "status"); code != 0 || !strings.Contains(out, "watching 1 service(s)") {
		t.Fatalf("supervisor status over the long path: %d %s", code, out)
	}
}

func TestSupervisorRefusesAnotherUser(t *testing.T) {
	root := supervisedEnv(t, "", "  api:\n    command: [TESTSVC]\n")
	mustStart(t, root, "api")
	// Let nobody reach the socket file itself, so that only the
	// supervisor's peer check stands in the way.
	bin := filepath.Join(t.TempDir(), "berth")
	data, _ := os.ReadFile(berthBin)
	os.WriteFile(bin, data, 0o755)
	for d := root; d != "/"; d = filepath.Dir(d) {
		os.Chmod(d, 0o755)
	}
	os.Chmod(filepath.Dir(bin), 0o755)
	p := supervisor.PathsOf(root)
	os.Chmod(p.Socket, 0o666)
	cmd := exec.Command(bin, "--env", root, "supervisor", "status")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err == nil || strings.Contains(string(out), "watching") {
		t.Fatalf("a client of uid 65534 was served: %v %s", err, out)
	}
	testkit.Eventually(t, 5*time.Second, func() error {
		log, _ := os.ReadFile(p.Log)
		if !strings.Contains(string(log), "refused a client of uid 65534") {
			return fmt.Errorf("supervisor log: %s", log)
		}
		return nil
	})
}

func TestSupervisorOfAnotherVersion(t *testing.T) {
	other := filepath.Join(t.TempDir(), "berth-other")
	if out, err := exec.Command("go", "build", "-ldflags", "-X main.version=other", "-o", other, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v %s", err, out)
	}
	root := supervisedEnv(t, "", "  api:\n    command: [TESTSVC]\n    restart: always\n    restart_backoff: {initial: 0s}\n")
	cmd := exec.Command(other, "--env", root, "start", "api")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("start with the other build: %v %s", err, out)
	}
	api := pids(t, root)["api"]
	old := supervisorPID(root)
	out, code := berthEnv(t, root, "stop", "api")
	if code == 0 || !strings.Contains(out, "is berth other") || !strings.Contains(out, "berth supervisor replace") {
		t.Fatalf("stop through another build's supervisor: %d %s", code, out)
	}
	if out, code := berthEnv(t, root, "supervisor", "replace"); code != 0 {
		t.Fatalf("replace: %s", out)
	}
	if supervisorPID(root) == old || pids(t, root)["api"] != api {
		t.Fatalf("after replace: supervisor %d (was %d), api %v (was %d)", supervisorPID(root), old, pids(t, root), api)
	}
	syscall.Kill(api, syscall.SIGKILL)
	restartedFrom(t, root, "api", api)
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// A supervisor keeps nothing it inherited from the command that spawned
// it: here the write end of a pipe, as a CI job's captured output or a
// shell's flock would be. Before, the supervisor (and every service it
// launched) held it open for as long as it ran, so the pipe's reader
// never saw its end.
func TestSupervisorClosesInheritedDescriptors(t *testing.T) {
	root := supervisedEnv(t, "", `  web:
    command: [TESTSVC]
`)
	startHoldsNoInheritedPipe(t, root, true)
}

// Without a supervisor, the command launches the service itself: a
// descriptor berth inherited without FD_CLOEXEC was passed on to it, and
// the service held it for as long as it ran (a shell's lock, a CI job's
// pipe that then never ends).
func TestStartPassesNoInheritedDescriptors(t *testing.T) {
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "berth.yaml"), []byte("version: 1\nsupervisor: false\nservices:\n  web:\n    command: ["+testsvcBin+"]\n"), 0o644)
	os.WriteFile(filepath.Join(root, ".metadata"), []byte("template=test\nenvironment_root="+root+"\n"), 0o644)
	stopAllAtCleanup(t, root)
	startHoldsNoInheritedPipe(t, root, false)
}

// startHoldsNoInheritedPipe runs berth start web with the write end of a
// pipe at its fd 9, and checks that neither the service (nor the
// supervisor, when supervised) holds it: its reader sees the end.
func startHoldsNoInheritedPipe(t *testing.T, root string, supervised bool) {
	t.Helper()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	cmd := exec.Command(berthBin, "--env", root, "start", "web")
	// fd 9 of berth, without FD_CLOEXEC, as a shell's `exec 9>lock` gives
	// (fds 3 to 8 are /dev/null: fd 3 would be replaced by the supervisor's
	// own ready pipe).
	null, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	cmd.ExtraFiles = []*os.File{null, null, null, null, null, null, pw}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	pw.Close()
	if err != nil {
		t.Fatalf("start: %v\n%s", err, out.String())
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(int(pr.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	pipe := fmt.Sprintf("pipe:[%d]", st.Ino)
	holders := func() []string {
		var who []string
		pids := psServicePIDs(root)
		if supervised {
			pids = append(pids, supervisorPID(root))
		}
		for _, pid := range pids {
			fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
			for _, fd := range fds {
				if l, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name())); l == pipe {
					who = append(who, fmt.Sprintf("PID %d fd %s", pid, fd.Name()))
				}
			}
		}
		return who
	}
	if (supervised && supervisorPID(root) == 0) || len(psServicePIDs(root)) == 0 {
		t.Fatalf("no supervisor or no service after the start:\n%s", out.String())
	}
	if who := holders(); len(who) > 0 {
		t.Fatalf("the inherited pipe is still held by %v", who)
	}
	// The reader sees the end at once: nobody holds the write end.
	pr.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := pr.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Fatalf("read of the pipe: %d, %v; want EOF", n, err)
	}
}
