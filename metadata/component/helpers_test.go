package component

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/berth/metadata"
)

func TestMain(m *testing.M) {
	// Tests must not depend on the user's git configuration.
	for k, v := range map[string]string{
		"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.DevNull,
		"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
		"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
	} {
		os.Setenv(k, v)
	}
	os.Exit(m.Run())
}

func git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// testRepo is a bare repository with stable, pre-release and non-semver tags
// and a develop branch, plus the work tree that feeds it.
type testRepo struct {
	Bare, Work string
}

func newRepo(t testing.TB, tags ...string) *testRepo {
	t.Helper()
	base := t.TempDir()
	r := &testRepo{Bare: filepath.Join(base, "remote.git"), Work: filepath.Join(base, "work")}
	git(t, base, "init", "-q", "--bare", "-b", "main", r.Bare)
	git(t, base, "init", "-q", "-b", "main", r.Work)
	for _, tag := range tags {
		r.commit(t, "VERSION", tag)
		git(t, r.Work, "tag", "-a", "-m", tag, tag)
	}
	git(t, r.Work, "checkout", "-q", "-b", "develop")
	r.commit(t, "DEVELOP", "one")
	git(t, r.Work, "checkout", "-q", "main")
	git(t, r.Work, "push", "-q", "--tags", r.Bare, "main", "develop")
	return r
}

func (r *testRepo) commit(t testing.TB, file, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(r.Work, file), []byte(content+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	git(t, r.Work, "add", file)
	git(t, r.Work, "commit", "-q", "-m", content)
}

// newEnv makes an environment (demo template) whose manifest declares the
// given components, each with the given repo and setup, and a private install root.
func newEnv(t testing.TB, installRoot string, comps map[string]*metadata.Component, order ...string) *metadata.Env {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "env")
	if installRoot == "" {
		installRoot = filepath.Join(t.TempDir(), "releases")
	}
	if _, err := metadata.Init(metadata.InitOptions{Dir: dir, Template: "demo", InstallRoot: installRoot, Now: time.Unix(0, 0)}); err != nil {
		t.Fatal(err)
	}
	env, err := metadata.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	env.Manifest.Components = comps
	env.Manifest.ComponentOrder = order
	return env
}

// recorder is a setup step that appends its arguments and working
// directory to a log file; its count says how often setup ran.
func recorder(t testing.TB) (metadata.Step, string) {
	log := filepath.Join(t.TempDir(), "setup.log")
	return metadata.Step{Run: []string{"sh", "-c", `echo "$$PWD $$*" >> "$$0"`, log, "${COMPONENT_DIR}", "${ENV_ROOT}"}}, log
}

func failing() metadata.Step {
	return metadata.Step{Run: []string{"sh", "-c", "echo setup broke >&2; exit 3"}}
}

func lines(t testing.TB, path string) []string {
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(data)), "\n")
}

func binding(t testing.TB, env *metadata.Env, comp string) string {
	t.Helper()
	m, err := metadata.ReadMetadata(env.Path(metadata.MetadataFile))
	if err != nil {
		t.Fatal(err)
	}
	v, _ := m.Get(metadata.BindingKey(comp))
	return v
}

// snapshot lists every path under the roots with its size, so a test can
// check that a failed command changed nothing (berth's own lock files aside).
func snapshot(t testing.TB, roots ...string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, root := range roots {
		filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
			if err != nil {
				return nil
			}
			if strings.Contains(p, string(filepath.Separator)+".locks") {
				return nil
			}
			out[p] = fi.Size()
			return nil
		})
	}
	return out
}

func sameSnapshot(t testing.TB, before, after map[string]int64) {
	t.Helper()
	for p, s := range before {
		if a, ok := after[p]; !ok {
			t.Errorf("%s was removed", p)
		} else if a != s && !strings.HasSuffix(p, ".metadata.lock") {
			t.Errorf("%s changed size %d -> %d", p, s, a)
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok && !strings.HasSuffix(p, ".metadata.lock") {
			t.Errorf("%s was created", p)
		}
	}
}

func releaseDir(t testing.TB, env *metadata.Env, component, version string) string {
	t.Helper()
	dir, err := env.ReleaseDir(component, version)
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func installRoot(t testing.TB, env *metadata.Env) string {
	t.Helper()
	root, err := env.InstallRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}
