package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// oqtopusRepos makes local bare repositories standing in for the
// oqtopus-team ones (tags v1.0.0 and v1.1.0, branch develop, plus the given
// files) and returns the git settings that send GitHub URLs to them.
func oqtopusRepos(t *testing.T, repos map[string]map[string]string) []string {
	t.Helper()
	base := t.TempDir()
	for name, files := range repos {
		work := filepath.Join(base, "src", name)
		os.MkdirAll(work, 0o755)
		componentGit(t, work, "init", "-q", "-b", "main")
		for f, content := range files {
			os.MkdirAll(filepath.Join(work, filepath.Dir(f)), 0o755)
			os.WriteFile(filepath.Join(work, f), []byte(content), 0o644)
		}
		for _, v := range []string{"v1.0.0", "v1.1.0"} {
			os.WriteFile(filepath.Join(work, "VERSION"), []byte(v+"\n"), 0o644)
			componentGit(t, work, "add", "-A")
			componentGit(t, work, "commit", "-q", "-m", v)
			componentGit(t, work, "tag", v)
		}
		componentGit(t, work, "checkout", "-q", "-b", "develop")
		componentGit(t, work, "commit", "-q", "--allow-empty", "-m", "develop")
		componentGit(t, base, "clone", "-q", "--bare", work, filepath.Join(base, "repos", name+".git"))
	}
	return []string{
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=" + os.DevNull,
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com",
		"GIT_CONFIG_COUNT=1",
		"GIT_CONFIG_KEY_0=url.file://" + filepath.Join(base, "repos") + "/.insteadOf",
		"GIT_CONFIG_VALUE_0=https://github.com/oqtopus-team/",
	}
}

// standInUV puts a STAND-IN uv (not the real one) first on PATH: sync makes
// the project's .venv, run records its arguments and whether VIRTUAL_ENV
// reached it, then waits for its stop signal.
func standInUV(t *testing.T) (pathEnv, argvFile string) {
	t.Helper()
	bin := t.TempDir()
	argvFile = filepath.Join(t.TempDir(), "argv")
	script := `#!/bin/sh
case "$1" in
sync) while [ $# -gt 0 ]; do [ "$1" = --project ] && mkdir -p "$2/.venv"; shift; done; exit 0 ;;
run) echo "$* VIRTUAL_ENV=${VIRTUAL_ENV-unset}" >> "` + argvFile + `"; exec sleep 100000 ;;
esac
exit 2
`
	if err := os.WriteFile(filepath.Join(bin, "uv"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return "PATH=" + bin + ":" + os.Getenv("PATH"), argvFile
}

// cliEnvironment lays out an environment as the OQTOPUS CLI's init leaves it
// (its .metadata, config files, pids/ and logs/, no berth.yaml).
func cliEnvironment(t *testing.T, template string, files map[string]string) (root, installRoot, metadataText string) {
	t.Helper()
	base := t.TempDir()
	root, installRoot = filepath.Join(base, "lab"), filepath.Join(base, "oqtopus", template, "releases")
	for _, d := range []string{"pids", "logs", "config"} {
		os.MkdirAll(filepath.Join(root, d), 0o755)
	}
	for f, content := range files {
		os.MkdirAll(filepath.Join(root, filepath.Dir(f)), 0o755)
		os.WriteFile(filepath.Join(root, f), []byte(content), 0o644)
	}
	metadataText = "template=" + template + "\ninstall_root=" + installRoot + "\nenvironment_name=lab\nenvironment_root=" + root + "\ncreated_at=2026-08-19T10:00:00Z\n"
	os.WriteFile(filepath.Join(root, ".metadata"), []byte(metadataText), 0o644)
	return root, installRoot, metadataText
}

func TestManagerEnvironmentTheCLIMade(t *testing.T) {
	gitEnv := oqtopusRepos(t, map[string]map[string]string{"oqtopus-manager": {"pyproject.toml": "[project]\n"}})
	pathEnv, argvFile := standInUV(t)
	env := append(gitEnv, pathEnv, "VIRTUAL_ENV=/somewhere/.venv")
	root, installRoot, text := cliEnvironment(t, "manager", map[string]string{
		"config/config.yaml": "server:\n  host: localhost\n  port: 38000\n", "config/logging.yaml": "version: 1\n"})
	// The CLI installed v1.0.0: a downloaded tree with its .venv, no marker.
	release := filepath.Join(installRoot, "manager-v1.0.0")
	os.MkdirAll(filepath.Join(release, ".venv"), 0o755)

	if r := berth(t, root, env, "info", "--raw"); r.code != 0 || r.stdout != text {
		t.Fatalf("info --raw: %+v", r)
	}
	if r := berth(t, root, env, "status"); r.code != 0 || r.stdout != "manager: Stopped\n" {
		t.Fatalf("status: %+v", r)
	}
	if r := berth(t, root, env, "start", "manager"); r.code == 0 || !strings.Contains(r.stderr, "berth install manager") {
		t.Fatalf("start unbound: %+v", r)
	}
	if r := berth(t, root, env, "install", "manager", "--skip-sse-build"); r.code != 2 || !strings.Contains(r.stderr, "no component of this environment builds an image") {
		t.Fatalf("install --skip-sse-build: %+v", r)
	}
	r := berth(t, root, env, "install", "manager", "v1.0.0")
	if r.code != 0 || !strings.Contains(r.stdout, "already installed (by the OQTOPUS CLI's rule)") {
		t.Fatalf("install of the CLI's release: %+v", r)
	}
	if r := berth(t, root, env, "start", "manager"); r.code != 0 {
		t.Fatalf("start: %+v", r)
	}
	t.Cleanup(func() { berth(t, root, env, "stop", "manager") })
	r = berth(t, root, env, "status")
	if r.code != 0 || !regexp.MustCompile(`^manager: Running \(PID \d+\)\n$`).MatchString(r.stdout) {
		t.Fatalf("status: %+v", r)
	}
	want := "run --project " + release + " python -m oqtopus_manager.main -c " + root + "/config/config.yaml -l " + root + "/config/logging.yaml VIRTUAL_ENV=unset\n"
	if got, _ := os.ReadFile(argvFile); string(got) != want {
		t.Errorf("the manager ran as\n%s\nwant\n%s", got, want)
	}
	if r := berth(t, root, env, "stop", "manager"); r.code != 0 {
		t.Fatalf("stop: %+v", r)
	}
	// A new release installed by berth is one the CLI accepts (.venv), and
	// both share the install root.
	if r := berth(t, root, env, "install", "manager"); r.code != 0 {
		t.Fatalf("install latest: %+v", r)
	}
	if _, err := os.Stat(filepath.Join(installRoot, "manager-v1.1.0", ".venv")); err != nil {
		t.Errorf("berth's install fails the CLI's rule: %v", err)
	}
	// init --force writes berth.yaml and keeps the CLI's .metadata.
	if r := berth(t, root, env, "init", "--template", "manager", "--force"); r.code != 0 || !strings.Contains(r.stdout, "wrote berth.yaml") {
		t.Fatalf("init --force: %+v", r)
	}
	if data, _ := os.ReadFile(filepath.Join(root, ".metadata")); string(data) != text+"manager_version=v1.1.0\n" {
		t.Errorf(".metadata after init --force:\n%s", data)
	}
	// versions outside any environment knows the manager template's component.
	if r := berth(t, t.TempDir(), env, "versions", "manager"); r.code != 0 || r.stdout != "manager:\n  v1.1.0\n  v1.0.0\n" {
		t.Fatalf("versions outside: %+v", r)
	}
}

func TestInitTemplateFromGitAndDirectory(t *testing.T) {
	gitEnv := oqtopusRepos(t, map[string]map[string]string{"oqtopus-cli": {
		"templates/backend/config/.env":                  "SSE_CONTAINER_IMAGE={{ env_name }}-sse_runtime:latest\n",
		"templates/backend/config/gateway/device_status": "inactive\n",
	}})
	base := t.TempDir()
	r := berth(t, base, gitEnv, "init", "lab", "--template", "backend", "--branch", "develop")
	if r.code != 0 {
		t.Fatalf("init --branch: %+v", r)
	}
	lab := filepath.Join(base, "lab")
	if data, _ := os.ReadFile(filepath.Join(lab, "config", ".env")); string(data) != "SSE_CONTAINER_IMAGE=lab-sse_runtime:latest\n" {
		t.Errorf(".env = %q", data)
	}
	if data, _ := os.ReadFile(filepath.Join(lab, "config", "gateway", "device_status")); string(data) != "inactive\n" {
		t.Errorf("device_status = %q", data)
	}
	if r := berth(t, lab, gitEnv, "validate"); r.code != 0 {
		t.Fatalf("validate: %+v", r)
	}
	r = berth(t, base, gitEnv, "init", "other", "--template", "backend", "--branch", "nope")
	if r.code != 1 || !strings.Contains(r.stderr, `branch "nope" may not exist`) {
		t.Fatalf("missing branch: %+v", r)
	}
	if _, err := os.Stat(filepath.Join(base, "other")); !os.IsNotExist(err) {
		t.Error("a failed init left its directory")
	}
	// A template directory of a team's own.
	tpl := filepath.Join(base, "tpl", "mine")
	os.MkdirAll(tpl, 0o755)
	os.WriteFile(filepath.Join(tpl, "berth.yaml"), []byte("version: 1\nservices:\n  web: {command: [sleep, \"1000\"]}\n"), 0o644)
	r = berth(t, base, nil, "init", "team", "--template", "./tpl/mine")
	if r.code != 0 || !strings.Contains(r.stdout, `Created mine environment "team"`) {
		t.Fatalf("init --template DIR: %+v", r)
	}
	if r := berth(t, filepath.Join(base, "team"), nil, "status"); r.stdout != "web: Stopped\n" {
		t.Fatalf("status: %+v", r)
	}
}

func TestVersionsOutsideUsesEveryOQTOPUSTemplate(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	gitEnv := oqtopusRepos(t, map[string]map[string]string{"oqtopus-frontend": {"package.json": "{}\n"}})
	if r := berth(t, t.TempDir(), gitEnv, "versions", "frontend"); r.code != 0 || r.stdout != "frontend:\n  v1.1.0\n  v1.0.0\n" {
		t.Fatalf("versions frontend: %+v", r)
	}
}

func TestRunDeviceStatus(t *testing.T) {
	base := t.TempDir()
	if r := berth(t, base, nil, "init", "lab", "--template", "backend"); r.code != 0 {
		t.Fatalf("init: %+v", r)
	}
	lab := filepath.Join(base, "lab")
	file := filepath.Join(lab, "config", "gateway", "device_status")
	r := berth(t, lab, nil, "run")
	if r.code != 0 || !strings.Contains(r.stdout, "device-status show|active|inactive|maintenance  show or set the device status") {
		t.Fatalf("run (list): %+v", r)
	}
	if r := berth(t, lab, nil, "run", "device-status", "show"); r.code != 0 || r.stdout != "active\n" {
		t.Fatalf("show: %+v", r)
	}
	if r := berth(t, lab, nil, "run", "device-status", "maintenance"); r.code != 0 || r.stdout != "maintenance\n" {
		t.Fatalf("set: %+v", r)
	}
	if data, _ := os.ReadFile(file); string(data) != "maintenance\n" {
		t.Errorf("file = %q", data)
	}
	r = berth(t, lab, nil, "run", "device-status", "broken")
	if r.code != 2 || !strings.Contains(r.stderr, `state "broken" is not one of show, active, inactive, maintenance`) {
		t.Fatalf("bad choice: %+v", r)
	}
	if r := berth(t, lab, nil, "run", "device-status"); r.code != 2 || !strings.Contains(r.stderr, "takes 1 argument, not 0") {
		t.Fatalf("no argument: %+v", r)
	}
	if r := berth(t, lab, nil, "run", "nope"); r.code != 2 || !strings.Contains(r.stderr, `unknown task "nope" (tasks: device-status)`) {
		t.Fatalf("unknown task: %+v", r)
	}
	os.Remove(file)
	if r := berth(t, lab, nil, "run", "device-status", "show"); r.code != 1 || !strings.Contains(r.stderr, "Error: device status file not found: "+file) {
		t.Fatalf("missing file: %+v", r)
	}
	// Completion: task names with descriptions, then the declared choices.
	r = berth(t, lab, nil, "__complete", "run", "")
	if !strings.Contains(r.stdout, "device-status\tshow or set") {
		t.Errorf("complete tasks: %+v", r)
	}
	r = berth(t, lab, nil, "__complete", "run", "device-status", "")
	if !strings.Contains(r.stdout, "show\nactive\ninactive\nmaintenance\n") {
		t.Errorf("complete choices: %+v", r)
	}
	// A task's own exit code is berth's.
	os.WriteFile(filepath.Join(lab, "berth.yaml"), []byte("version: 1\ntasks:\n  fail: {run: [sh, -c, 'exit 7']}\n"), 0o644)
	if r := berth(t, lab, nil, "run", "fail"); r.code != 7 {
		t.Fatalf("exit code: %+v", r)
	}
}
