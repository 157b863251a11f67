package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// appendTo adds text to the file at path.
func appendTo(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}

// A bad line in .metadata or config/.env must not keep anyone from seeing
// and stopping what runs: status and stop (even --force) warn and go on;
// start, which needs those values, still refuses, naming the line.
func TestCLIBadLinesDoNotBlockStatusAndStop(t *testing.T) {
	root := lifecycleEnv(t, [2]string{"core", ""})
	if out, code := berthEnv(t, root, "start", "core"); code != 0 {
		t.Fatalf("start: %d\n%s", code, out)
	}
	appendTo(t, filepath.Join(root, ".metadata"), "this is not a pair\n")
	os.MkdirAll(filepath.Join(root, "config"), 0o755)
	appendTo(t, filepath.Join(root, "config", ".env"), "GOOD=1\nBAD=\"unterminated\n")

	out, code := berthEnv(t, root, "status")
	if code != 0 || !strings.Contains(out, "core: Running (PID ") ||
		!strings.Contains(out, "Warning: "+filepath.Join(root, ".metadata")+":3: expected key=value") ||
		!strings.Contains(out, "Warning: "+filepath.Join(root, "config", ".env")+":2: BAD: unterminated") {
		t.Fatalf("status with bad lines: %d\n%s", code, out)
	}
	if out, code := berthEnv(t, root, "start", "core"); code != 1 || !strings.Contains(out, ".metadata:3: expected key=value") {
		t.Fatalf("start with a bad line: %d\n%s", code, out)
	}
	out, code = berthEnv(t, root, "stop", "core", "--force")
	if code != 0 || !strings.Contains(out, "core: Stopped") {
		t.Fatalf("stop --force with bad lines: %d\n%s", code, out)
	}
	if n := psServices(root); n != 0 {
		t.Fatalf("%d service process(es) left after stop", n)
	}
	if data, _ := os.ReadFile(filepath.Join(root, ".metadata")); !strings.Contains(string(data), "this is not a pair\n") {
		t.Fatalf(".metadata lost its bad line: %q", data)
	}
}

// "  KEY=value" is no variable for the OQTOPUS CLI; berth must not export it.
func TestCLIIndentedDotEnvKeyIsSkipped(t *testing.T) {
	root := lifecycleEnv(t, [2]string{"show", `, --print-env, SECRET, --print-env, GOOD, --exit, "0"`})
	os.MkdirAll(filepath.Join(root, "config"), 0o755)
	os.WriteFile(filepath.Join(root, "config", ".env"), []byte("  SECRET=x\nGOOD=y\n"), 0o644)
	out, code := berthEnv(t, root, "start", "show", "--foreground")
	if code != 0 || !strings.Contains(out, "SECRET unset") || !strings.Contains(out, "GOOD=y") {
		t.Fatalf("foreground: %d\n%s", code, out)
	}
	out, code = berthEnv(t, root, "validate")
	if code != 0 || !strings.Contains(out, "Warning: "+filepath.Join(root, "config", ".env")+`:1: "SECRET=x" is not a variable`) {
		t.Fatalf("validate: %d\n%s", code, out)
	}
}

// The OQTOPUS CLI renames env_root/env_name in place on every environment
// command, overwriting the new keys; a read-only file is left alone.
func TestCLILegacyKeysRewritten(t *testing.T) {
	root := lifecycleEnv(t, [2]string{"core", ""})
	path := filepath.Join(root, ".metadata")
	os.WriteFile(path, []byte("template=test\nenv_root="+root+"\nenvironment_name=stale\nenv_name=lab\n"), 0o644)
	if out, code := berthEnv(t, root, "status"); code != 0 || out != "core: Stopped\n" {
		t.Fatalf("status: %d\n%s", code, out)
	}
	want := "template=test\nenvironment_name=lab\nenvironment_root=" + root + "\n"
	if data, _ := os.ReadFile(path); string(data) != want {
		t.Fatalf(".metadata = %q, want %q", data, want)
	}

	ro := "template=test\nenv_root=" + root + "\n"
	os.WriteFile(path, []byte(ro), 0o444)
	os.Chmod(path, 0o444)
	if out, code := berthEnv(t, root, "status"); code != 0 || out != "core: Stopped\n" {
		t.Fatalf("status with a read-only .metadata: %d\n%s", code, out)
	}
	if data, _ := os.ReadFile(path); string(data) != ro {
		t.Fatalf("read-only .metadata changed to %q", data)
	}
}

// A key written twice: the first value counts, with a warning.
func TestCLIDuplicateMetadataKey(t *testing.T) {
	root := lifecycleEnv(t, [2]string{"core", ""})
	path := filepath.Join(root, ".metadata")
	os.WriteFile(path, []byte("template=test\nenvironment_root="+root+"\nenvironment_name=first\nenvironment_name=second\n"), 0o644)
	out, code := berthEnv(t, root, "info", "-o", "json")
	if code != 0 || !strings.Contains(out, `"environment_name": "first"`) ||
		!strings.Contains(out, `Warning: `+path+`:4: key "environment_name" is already set on line 3`) {
		t.Fatalf("info: %d\n%s", code, out)
	}
	if out, code := berthEnv(t, root, "status"); code != 0 || !strings.Contains(out, "core: Stopped") {
		t.Fatalf("status: %d\n%s", code, out)
	}
}

// Names of the environment's own entries are refused: a branch install of
// a component named config would replace config/.
func TestCLIReservedNamesRefused(t *testing.T) {
	root := lifecycleEnv(t, [2]string{"core", ""})
	appendTo(t, filepath.Join(root, "berth.yaml"), "components:\n  config:\n    repo: /nowhere\n")
	out, code := berthEnv(t, root, "validate")
	if code != 1 || !strings.Contains(out, `component name "config" is taken by the environment's own config`) {
		t.Fatalf("validate: %d\n%s", code, out)
	}
}

// A .metadata without install_root: validate says so, and an install fails
// naming the key instead of going quietly to another directory.
func TestCLIMissingInstallRoot(t *testing.T) {
	f := newComponentFixture(t, "")
	path := filepath.Join(f.env, ".metadata")
	data, _ := os.ReadFile(path)
	var kept []string
	for _, l := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		if !strings.HasPrefix(l, "install_root=") {
			kept = append(kept, l)
		}
	}
	os.WriteFile(path, []byte(strings.Join(kept, "\n")+"\n"), 0o644)
	xdg := filepath.Join(t.TempDir(), "data")
	for _, args := range [][]string{{"validate"}, {"install", "app", "v1.0.0"}} {
		r := berth(t, f.env, []string{"XDG_DATA_HOME=" + xdg}, args...)
		if r.code != 1 || !strings.Contains(r.stderr, "install_root is missing from "+path) {
			t.Fatalf("%v: %+v", args, r)
		}
	}
	if _, err := os.Stat(xdg); !os.IsNotExist(err) {
		t.Fatalf("something was installed under %s: %v", xdg, err)
	}
}

// A repository with no stable vX.Y.Z tag is an error, as for the CLI.
func TestCLIVersionsWithoutStableTags(t *testing.T) {
	base := t.TempDir()
	bare, work := filepath.Join(base, "r.git"), filepath.Join(base, "w")
	git := func(dir string, args ...string) {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL="+os.DevNull, "GIT_CONFIG_NOSYSTEM=1",
			"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@x", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@x")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git(base, "init", "-q", "--bare", bare)
	git(base, "init", "-q", work)
	git(work, "commit", "-q", "--allow-empty", "-m", "x")
	git(work, "tag", "v1.0.0-rc.1")
	git(work, "tag", "release-3")
	git(work, "push", "-q", "--tags", bare)
	r := berth(t, base, nil, "versions", "tranqu", "--repo", bare)
	if r.code != 1 || !strings.Contains(r.stderr, "no stable versions were found for tranqu") {
		t.Fatalf("versions: %+v", r)
	}
}

// A release a running service of this environment uses is not deleted
// under it; once the service stops, it is.
func TestCLIUninstallInUseRefused(t *testing.T) {
	f := newComponentFixture(t, "")
	appendTo(t, filepath.Join(f.env, "berth.yaml"), "services:\n  web:\n    component: app\n    command: [\""+testsvcBin+"\", --print, \"${COMPONENT_DIR}\"]\n")
	for _, v := range []string{"v1.0.0", "v1.2.0"} {
		if r := berth(t, f.env, nil, "install", "app", v); r.code != 0 {
			t.Fatalf("install %s: %+v", v, r)
		}
	}
	t.Cleanup(func() { berth(t, f.env, nil, "stop", "all", "--force") })
	if r := berth(t, f.env, nil, "start", "web"); r.code != 0 {
		t.Fatalf("start: %+v", r)
	}
	dir := filepath.Join(f.installRoot, "app-v1.2.0")
	r := berth(t, f.env, nil, "uninstall", "app", "v1.2.0")
	if r.code != 1 || !strings.Contains(r.stderr, "app v1.2.0 ("+dir+") is in use by running service(s) web: stop them first") {
		t.Fatalf("uninstall of the release in use: %+v", r)
	}
	if _, err := os.Stat(filepath.Join(dir, "VERSION")); err != nil {
		t.Fatalf("the release in use was touched: %v", err)
	}
	if r := berth(t, f.env, nil, "uninstall", "app", "v1.0.0"); r.code != 0 {
		t.Fatalf("uninstall of a release no one uses: %+v", r)
	}
	if r := berth(t, f.env, nil, "stop", "web"); r.code != 0 {
		t.Fatalf("stop: %+v", r)
	}
	if r := berth(t, f.env, nil, "uninstall", "app", "v1.2.0"); r.code != 0 {
		t.Fatalf("uninstall after stop: %+v", r)
	}
}

// Ctrl-C on a foreground container: the signal goes to the container and
// berth exits with its code, as for a host process.
func TestCLIContainerForegroundInterrupt(t *testing.T) {
	_, tag := testImage(t)
	root := t.TempDir()
	name := uniqueEnvName("bint")
	manifest := fmt.Sprintf("version: 1\nservices:\n  fg:\n    runner: container\n    command: [--on-int, \"42\"]\n    container: {image: %s}\n", tag)
	os.WriteFile(filepath.Join(root, "berth.yaml"), []byte(manifest), 0o644)
	os.WriteFile(filepath.Join(root, ".metadata"), []byte("template=test\nenvironment_name="+name+"\nenvironment_root="+root+"\n"), 0o644)
	cmd := exec.Command(berthBin, "--env", root, "start", "--foreground", "fg")
	stdout, _ := cmd.StdoutPipe()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); berthEnv(t, root, "stop", "all", "--force") })
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	waitLine(t, lines, "ready")
	cmd.Process.Signal(os.Interrupt)
	waitLine(t, lines, "got INT")
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 42 || strings.Contains(stderr.String(), "Error") {
		t.Fatalf("berth ended with %v, want exit 42 and no error\n%s", err, stderr.String())
	}
}

// Services start_order names, with no depends_on between them, start one at
// a time in that order and the first failure ends the start, as the
// OQTOPUS CLI's start all does.
func TestCLIStartOrderOneAtATime(t *testing.T) {
	root := lifecycleEnv(t, [2]string{"core", ""}, [2]string{"mitigator", `, --exit, "3"`}, [2]string{"gateway", ""})
	// mitigator's start check lasts until it exits (a minute at most), not
	// the default 250 ms: its exit must fail the start however late a
	// loaded machine runs it.
	manifest := filepath.Join(root, "berth.yaml")
	b, _ := os.ReadFile(manifest)
	os.WriteFile(manifest, bytes.Replace(b, []byte(`"3"]`+"\n"), []byte(`"3"]`+"\n    start_check: 1m\n"), 1), 0o644)
	appendTo(t, manifest, "start_order: [gateway, mitigator, core]\n")
	out, code := berthEnv(t, root, "start", "all")
	if code != 1 || !strings.Contains(out, "failed to start 'mitigator'") {
		t.Fatalf("start all: %d\n%s", code, out)
	}
	status := checkAgree(t, root)
	if !strings.Contains(status, "gateway: Running") || !strings.Contains(status, "core: Stopped") {
		t.Fatalf("after a failure in start_order, the services after it must not start:\n%s", status)
	}
}

// restart prints the stop's "<svc>: Stopped" lines, then the start's block.
func TestCLIRestartPrintsStoppedLines(t *testing.T) {
	root := lifecycleEnv(t, [2]string{"core", ""}, [2]string{"gateway", ""})
	if out, code := berthEnv(t, root, "start", "core"); code != 0 {
		t.Fatalf("start: %d\n%s", code, out)
	}
	out, code := berthEnv(t, root, "restart", "all")
	stops := strings.Index(out, "gateway: Stopped\ncore: Stopped\n")
	block := strings.Index(out, "SERVICE")
	if code != 0 || stops < 0 || block < stops || !strings.Contains(out[block:], "core     running") {
		t.Fatalf("restart all: %d\n%s", code, out)
	}
}

// Docker away: stop all, start all, restart all and health act on every
// host service and report the container one as a failure at the end.
func TestCLIDockerAwayHostServicesStillManaged(t *testing.T) {
	root := lifecycleEnv(t, [2]string{"web", ""}, [2]string{"api", ""})
	appendTo(t, filepath.Join(root, "berth.yaml"), "  box:\n    runner: container\n    container: {image: berth-none:latest}\n")
	away := []string{"DOCKER_HOST=unix://" + filepath.Join(t.TempDir(), "missing.sock")}
	run := func(args ...string) result {
		return berth(t, root, away, append([]string{"--env", root}, args...)...)
	}
	if r := run("start", "web"); r.code != 0 {
		t.Fatalf("start web: %+v", r)
	}
	r := run("stop", "all")
	if r.code != 1 || !strings.Contains(r.stdout, "web: Stopped") || !strings.Contains(r.stderr, "failed to stop 'box'") {
		t.Fatalf("stop all: %+v", r)
	}
	if n := psServices(root); n != 0 {
		t.Fatalf("stop all left %d host service(s) running", n)
	}
	r = run("start", "all")
	if r.code != 1 || !strings.Contains(r.stderr, "failed to start 'box'") {
		t.Fatalf("start all: %+v", r)
	}
	if n := psServices(root); n != 2 {
		t.Fatalf("start all: %d host service(s) running, want 2\n%+v", n, r)
	}
	r = run("restart", "all")
	if r.code != 1 || !strings.Contains(r.stdout, "web: Stopped") || !strings.Contains(r.stdout, "web      running") || !strings.Contains(r.stderr, "'box'") {
		t.Fatalf("restart all: %+v", r)
	}
	r = run("health")
	if r.code != 1 || !strings.Contains(r.stdout, "web: running (no health check)") || !strings.Contains(r.stdout, "box: unhealthy") {
		t.Fatalf("health: %+v", r)
	}
}

// A berth started with SIGHUP and SIGINT ignored (nohup, a script's
// background job) launches its services with both at their default
// action, with the supervisor and without: a service that inherited the
// ignored HUP or INT could not be reloaded by HUP nor stopped by a
// stop_signal of HUP or INT.
func TestCLIServicesDoNotInheritIgnoredSignals(t *testing.T) {
	for _, supervised := range []string{"1", "0"} {
		t.Run("supervisor="+supervised, func(t *testing.T) {
			root := lifecycleEnv(t, [2]string{"web", ""})
			cmd := exec.Command("sh", "-c", `trap "" HUP INT; exec "$0" "$@"`, berthBin, "--env", root, "start", "all")
			cmd.Env = append(os.Environ(), "BERTH_SUPERVISOR="+supervised)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("start all: %v\n%s", err, out)
			}
			pids := psServicePIDs(root)
			if len(pids) != 1 {
				t.Fatalf("service processes: %v, want 1", pids)
			}
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pids[0]))
			if err != nil {
				t.Fatal(err)
			}
			for _, line := range strings.Split(string(b), "\n") {
				if v, ok := strings.CutPrefix(line, "SigIgn:"); ok {
					mask, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
					if err != nil {
						t.Fatal(err)
					}
					if hup, intr := mask&(1<<(1-1)) != 0, mask&(1<<(2-1)) != 0; hup || intr {
						t.Fatalf("the service ignores HUP: %v, INT: %v (SigIgn %s)", hup, intr, strings.TrimSpace(v))
					}
					return
				}
			}
			t.Fatalf("no SigIgn in /proc/%d/status", pids[0])
		})
	}
}
