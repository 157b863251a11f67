package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berthdev/berth/hack/testkit"
	"github.com/berthdev/berth/metadata"
	"github.com/berthdev/berth/metadata/component"
)

// componentFixture is an environment whose manifest declares component app
// from a local bare repository, with a private install root.
type componentFixture struct {
	env, installRoot, bare, work, setupLog string
}

func componentGit(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

func newComponentFixture(t *testing.T, setup string) *componentFixture {
	t.Helper()
	for k, v := range map[string]string{
		"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.DevNull,
		"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
		"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
		metadata.EnvVar: "",
	} {
		t.Setenv(k, v)
	}
	base := t.TempDir()
	f := &componentFixture{
		env: filepath.Join(base, "env"), installRoot: filepath.Join(base, "releases"),
		bare: filepath.Join(base, "app.git"), work: filepath.Join(base, "work"),
		setupLog: filepath.Join(base, "setup.log"),
	}
	componentGit(t, base, "init", "-q", "--bare", "-b", "main", f.bare)
	componentGit(t, base, "init", "-q", "-b", "main", f.work)
	for _, tag := range []string{"v1.0.0", "v1.2.0", "v1.10.0-rc.1", "v1.9.0", "release-3"} {
		os.WriteFile(filepath.Join(f.work, "VERSION"), []byte(tag), 0o644)
		componentGit(t, f.work, "add", "VERSION")
		componentGit(t, f.work, "commit", "-q", "-m", tag)
		componentGit(t, f.work, "tag", tag)
	}
	componentGit(t, f.work, "push", "-q", "--tags", f.bare, "main:main", "main:develop")
	if _, err := metadata.Init(metadata.InitOptions{Dir: f.env, Template: "demo", InstallRoot: f.installRoot}); err != nil {
		t.Fatal(err)
	}
	if setup == "" {
		setup = `[sh, -c, 'echo "$$0" >> ` + f.setupLog + `', "${COMPONENT_DIR}"]`
	}
	// The demo template declares components of its own; this test needs only app.
	manifest := "version: 1\ncomponents:\n  app:\n    repo: " + f.bare + "\n    setup:\n      - run: " + setup + "\n"
	if err := os.WriteFile(filepath.Join(f.env, metadata.ManifestFile), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *componentFixture) berth(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(append([]string{"--env", f.env}, args...), newStreams(nil, &stdout, &stderr))
	return code, stdout.String(), stderr.String()
}

func (f *componentFixture) metadataText(t *testing.T) string {
	data, err := os.ReadFile(filepath.Join(f.env, metadata.MetadataFile))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestVersionsCommand(t *testing.T) {
	f := newComponentFixture(t, "")
	if code, _, stderr := f.berth(t, "install", "app", "v1.0.0"); code != 0 {
		t.Fatalf("install: %d %s", code, stderr)
	}
	code, stdout, stderr := f.berth(t, "versions", "app")
	if want := "app:\n  v1.9.0\n  v1.2.0\n* v1.0.0 (installed)\n"; code != 0 || stdout != want {
		t.Fatalf("versions = %d %q %s, want %q", code, stdout, stderr, want)
	}
	code, stdout, _ = f.berth(t, "versions", "app", "-o", "json")
	var out struct {
		Component string
		Versions  []component.Version
	}
	if err := json.Unmarshal([]byte(stdout), &out); err != nil || code != 0 || len(out.Versions) != 3 || !out.Versions[2].Selected || !out.Versions[2].Installed {
		t.Fatalf("json = %d %s (%v)", code, stdout, err)
	}

	// Remote gone: installed versions still listed, the failure said, exit 1.
	os.RemoveAll(f.bare)
	code, stdout, stderr = f.berth(t, "versions", "app")
	if code != 1 || stdout != "app:\n* v1.0.0 (installed)\n" || !strings.Contains(stderr, "cannot read the versions of app") {
		t.Fatalf("unreachable remote: %d %q %q", code, stdout, stderr)
	}
}

func TestComponentCommandsBadInput(t *testing.T) {
	f := newComponentFixture(t, "")
	if code, _, stderr := f.berth(t, "install", "app", "v1.0.0"); code != 0 {
		t.Fatalf("install: %d %s", code, stderr)
	}
	cwd := t.TempDir()
	t.Chdir(cwd)
	tests := []struct {
		args     []string
		code     int
		inStderr string
	}{
		{[]string{"install", "nope"}, 1, `unknown component "nope"`},
		{[]string{"install", "app", "2.0"}, 2, `invalid version "2.0"`},
		{[]string{"install", "app", "v2.0.0-rc.1"}, 2, "stable release tag"},
		{[]string{"install", "app", "latest"}, 2, `invalid version "latest"`},
		{[]string{"install", "app", "v1.0.0/.."}, 2, "invalid version"},
		{[]string{"install", "app", "v1\x00.0.0"}, 2, "invalid version"},
		{[]string{"install", "app/..", "v1.0.0"}, 2, "invalid component name"},
		{[]string{"install", "..", "v1.0.0"}, 2, "invalid component name"},
		{[]string{"install", "app", "branch:--upload-pack=touch x"}, 2, "option"},
		{[]string{"install", "app", "branch:../x"}, 2, "'..'"},
		{[]string{"install", "app", "branch:a..b"}, 2, "'..'"},
		{[]string{"install", "all", "v1.0.0"}, 2, "install all takes no version"},
		{[]string{"install", "app", "v7.7.7"}, 1, "v7.7.7"},
		{[]string{"install", "app", "branch:missing"}, 1, "missing"},
		{[]string{"uninstall", "app", "v1.2.0"}, 1, "not installed"},
		{[]string{"uninstall", "app", "branch:../x"}, 2, "'..'"},
		{[]string{"uninstall", "app"}, 2, "accepts 2 arg"},
		{[]string{"versions", "../x"}, 2, "invalid component name"},
		{[]string{"versions", "nope"}, 1, `unknown component "nope"`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			before := f.metadataText(t)
			entries, _ := os.ReadDir(f.installRoot)
			code, _, stderr := f.berth(t, tt.args...)
			if code != tt.code || !strings.Contains(stderr, tt.inStderr) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, stderr, tt.code, tt.inStderr)
			}
			if after := f.metadataText(t); after != before {
				t.Fatalf(".metadata changed:\n%s", after)
			}
			if after, _ := os.ReadDir(f.installRoot); len(after) != len(entries) {
				t.Fatalf("install root changed: %v -> %v", entries, after)
			}
			if left, _ := os.ReadDir(cwd); len(left) != 0 {
				t.Fatalf("something was created in the working directory: %v", left)
			}
		})
	}
	if !component.IsInstalled(filepath.Join(f.installRoot, "app-v1.0.0"), false) {
		t.Fatal("bad input removed an install")
	}
}

func TestUpdateAndUninstallCommands(t *testing.T) {
	f := newComponentFixture(t, "")
	code, stdout, stderr := f.berth(t, "update", "app")
	if code != 0 || !strings.Contains(stdout, "app_version=v1.9.0 (was none)") {
		t.Fatalf("update: %d %q %q", code, stdout, stderr)
	}
	code, _, stderr = f.berth(t, "uninstall", "app", "v1.9.0")
	if code != 0 || !strings.Contains(stderr, "still binds app_version=v1.9.0") {
		t.Fatalf("uninstall: %d %q", code, stderr)
	}
	if !strings.Contains(f.metadataText(t), "app_version=v1.9.0\n") {
		t.Fatal("release uninstall dropped the binding")
	}
	code, stdout, _ = f.berth(t, "install", "app", "branch:develop", "-o", "json")
	var res []component.Result
	if err := json.Unmarshal([]byte(stdout), &res); err != nil || code != 0 || len(res) != 1 || res[0].Binding != "branch:develop" {
		t.Fatalf("branch install: %d %s", code, stdout)
	}
	code, stdout, _ = f.berth(t, "uninstall", "app", "branch:develop")
	if code != 0 || strings.Contains(f.metadataText(t), "app_version") || !strings.Contains(stdout, "app_version removed") {
		t.Fatalf("branch uninstall: %d %q\n%s", code, stdout, f.metadataText(t))
	}
}

// Ctrl-C during an install says it was interrupted and how to go on, not
// "context canceled", and leaves nothing installed or bound.
func TestInstallInterrupted(t *testing.T) {
	dir := t.TempDir()
	ready := filepath.Join(dir, "ready")
	f := newComponentFixture(t, `[sh, -c, 'touch "$$0"; exec sleep 60', "`+ready+`"]`)
	cmd := exec.Command(berthBin, "--env", f.env, "install", "app", "v1.2.0")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if err := testkit.Poll(30*time.Second, func() error { _, err := os.Stat(ready); return err }); err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("setup never started: %s", out.String())
	}
	cmd.Process.Signal(os.Interrupt)
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("exit %v, want 1\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "install of app interrupted") || !strings.Contains(out.String(), "run `berth install app v1.2.0`") || strings.Contains(out.String(), "context canceled") {
		t.Fatalf("interrupted install says:\n%s", out.String())
	}
	if component.IsInstalled(filepath.Join(f.installRoot, "app-v1.2.0"), false) || strings.Contains(f.metadataText(t), "app_version") {
		t.Fatal("an interrupted install counts as installed or bound")
	}
}

// A berth killed with SIGKILL in the middle of setup leaves nothing that
// counts as installed, and the next install redoes it.
func TestInstallSurvivesSIGKILL(t *testing.T) {
	bin := berthBin // built once in TestMain
	dir := t.TempDir()
	ready, fifo := filepath.Join(dir, "ready"), filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	// Setup says it started, then waits for a line on the fifo.
	f := newComponentFixture(t, `[sh, -c, 'touch "$$0"; read line < "$$1"', "`+ready+`", "`+fifo+`"]`)
	// Held open read-write, the fifo never reaches EOF while berth runs.
	w, err := os.OpenFile(fifo, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()

	cmd := exec.Command(bin, "--env", f.env, "install", "app", "v1.2.0")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	err = testkit.Poll(30*time.Second, func() error {
		_, err := os.Stat(ready)
		return err
	})
	cmd.Process.Kill()
	cmd.Wait()
	if err != nil {
		t.Fatalf("setup never started (%v): %s", err, out.String())
	}

	release := filepath.Join(f.installRoot, "app-v1.2.0")
	if component.IsInstalled(release, false) {
		t.Fatal("a killed install counts as installed")
	}
	if strings.Contains(f.metadataText(t), "app_version") {
		t.Fatal("a killed install was bound")
	}
	if code, stdout, _ := f.berth(t, "versions", "app"); code != 0 || strings.Contains(stdout, "installed") {
		t.Fatalf("versions after kill: %d %q", code, stdout)
	}

	w.WriteString("go\n") // the next setup finishes
	os.Remove(ready)
	code, stdout, stderr := f.berth(t, "install", "app", "v1.2.0")
	if code != 0 || !strings.Contains(stdout, "app v1.2.0 installed in "+release) {
		t.Fatalf("install after kill: %d %q %q", code, stdout, stderr)
	}
	if !component.IsInstalled(release, false) || !strings.Contains(f.metadataText(t), "app_version=v1.2.0") {
		t.Fatal("the redone install is not installed and bound")
	}
	entries, _ := os.ReadDir(f.installRoot)
	for _, e := range entries {
		if strings.Contains(e.Name(), "staging") {
			t.Fatalf("left behind: %s", e.Name())
		}
	}
}
