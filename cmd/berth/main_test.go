package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// berthBin is the berth binary built once for the tests that run it as a
// user would: a separate process, with its own exit code. testsvcBin is the
// helper program that plays the services.
var berthBin, testsvcBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "berth-cmd-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	berthBin, testsvcBin = filepath.Join(dir, "berth"), filepath.Join(dir, "testsvc")
	for _, b := range [][2]string{{berthBin, "github.com/berthdev/berth/cmd/berth"}, {testsvcBin, "github.com/berthdev/berth/hack/testsvc"}} {
		if out, err := exec.Command("go", "build", "-o", b[0], b[1]).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build %s: %v\n%s", b[1], err, out)
			os.Exit(1)
		}
	}
	// BERTH_TEST_BERTH runs the tests against another build of berth, such
	// as one of an older commit, to see a new test fail there.
	if b := os.Getenv("BERTH_TEST_BERTH"); b != "" {
		berthBin = b
	}
	code := m.Run()
	removeTestImage()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	stdout, stderr string
	code           int
}

// berth runs the binary in dir with extra environment variables.
func berth(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(berthBin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "BERTH_ENV=", "XDG_DATA_HOME="+filepath.Join(t.TempDir(), "data"))
	cmd.Env = append(cmd.Env, env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{out.String(), errOut.String(), code}
}

func TestInitValidateInfo(t *testing.T) {
	base := t.TempDir()
	r := berth(t, base, nil, "init", "lab", "--template", "backend")
	if r.code != 0 || !strings.Contains(r.stdout, `Created backend environment "lab"`) {
		t.Fatalf("init: %+v", r)
	}
	root := filepath.Join(base, "lab")
	r = berth(t, filepath.Join(root, "config", "core"), nil, "validate")
	if r.code != 0 || !strings.Contains(r.stdout, "3 component(s), 1 image(s), 7 service(s)") {
		t.Fatalf("validate from a subdirectory: %+v", r)
	}
	r = berth(t, base, nil, "--env", root, "info", "-o", "json")
	var info map[string]string
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &info) != nil || info["environment_root"] != root || info["template"] != "backend" {
		t.Fatalf("info -o json: %+v", r)
	}
	r = berth(t, base, []string{"BERTH_ENV=" + root}, "info")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "template=backend\n") {
		t.Fatalf("info via BERTH_ENV: %+v", r)
	}
}

func TestExitCodesAndErrors(t *testing.T) {
	base := t.TempDir()
	if r := berth(t, base, nil, "init", "e", "-t", "demo"); r.code != 0 {
		t.Fatal(r)
	}
	env := filepath.Join(base, "e")
	tests := []struct {
		name   string
		dir    string
		args   []string
		code   int
		stderr string
	}{
		{"unknown flag", base, []string{"--bogus"}, 2, "unknown flag: --bogus"},
		{"unknown command", base, []string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{"too many args", base, []string{"init", "a", "b", "-t", "demo"}, 2, "accepts at most 1 arg"},
		{"missing template", base, []string{"init", "x"}, 2, `"--template" not set`},
		{"bad output format", env, []string{"info", "-o", "yaml"}, 2, `unknown output format "yaml"`},
		{"outside an environment", base, []string{"validate"}, 1, "not inside a berth environment"},
		{"non-empty dir", base, []string{"init", ".", "-t", "demo", "--name", "x"}, 1, "--force"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := berth(t, tt.dir, nil, tt.args...)
			if r.code != tt.code || !strings.HasPrefix(r.stderr, "Error: ") || !strings.Contains(r.stderr, tt.stderr) {
				t.Fatalf("exit %d, stderr %q; want exit %d and %q", r.code, r.stderr, tt.code, tt.stderr)
			}
		})
	}
	if r := berth(t, base, nil, "--version"); r.code != 0 || !strings.HasPrefix(r.stdout, "berth version ") {
		t.Fatalf("--version: %+v", r)
	}
	if r := berth(t, base, nil, "completion", "bash"); r.code != 0 || !strings.Contains(r.stdout, "__start_berth") {
		t.Fatalf("completion: code %d", r.code)
	}
}

func TestBrokenMetadataIsReportedAndKept(t *testing.T) {
	base := t.TempDir()
	if r := berth(t, base, nil, "init", "e", "-t", "demo"); r.code != 0 {
		t.Fatal(r)
	}
	path := filepath.Join(base, "e", ".metadata")
	orig, _ := os.ReadFile(path)
	broken := append(append([]byte{}, orig...), []byte("garbage here\r\nname=\xff\n")...)
	os.WriteFile(path, broken, 0o644)
	r := berth(t, filepath.Join(base, "e"), nil, "relocate")
	n := strings.Count(string(orig), "\n")
	for _, want := range []string{fmt.Sprintf(".metadata:%d: expected key=value", n+1), fmt.Sprintf(".metadata:%d: not valid UTF-8", n+2)} {
		if r.code != 1 || !strings.Contains(r.stderr, want) {
			t.Errorf("stderr %q lacks %q (exit %d)", r.stderr, want, r.code)
		}
	}
	if now, _ := os.ReadFile(path); !bytes.Equal(now, broken) {
		t.Fatal(".metadata was rewritten")
	}
}

func TestMovedEnvironmentAndRelocate(t *testing.T) {
	base := t.TempDir()
	if r := berth(t, base, nil, "init", "e", "-t", "demo"); r.code != 0 {
		t.Fatal(r)
	}
	moved := filepath.Join(base, "moved")
	os.Rename(filepath.Join(base, "e"), moved)
	r := berth(t, moved, nil, "validate")
	if r.code != 1 || !strings.Contains(r.stderr, "berth relocate") {
		t.Fatalf("moved: %+v", r)
	}
	if r = berth(t, moved, nil, "relocate"); r.code != 0 {
		t.Fatalf("relocate: %+v", r)
	}
	if r = berth(t, moved, nil, "validate"); r.code != 0 {
		t.Fatalf("validate after relocate: %+v", r)
	}
}

func TestReadOnlyMetadata(t *testing.T) {
	base := t.TempDir()
	if r := berth(t, base, nil, "init", "e", "-t", "demo"); r.code != 0 {
		t.Fatal(r)
	}
	moved := filepath.Join(base, "moved")
	os.Rename(filepath.Join(base, "e"), moved)
	path := filepath.Join(moved, ".metadata")
	os.Chmod(path, 0o444)
	before, _ := os.ReadFile(path)
	r := berth(t, moved, nil, "relocate")
	if r.code != 1 || !strings.Contains(r.stderr, "read-only") {
		t.Fatalf("relocate of read-only .metadata: %+v", r)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Fatal("read-only .metadata changed")
	}
}
