package component

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berthdev/berth/metadata"
)

func TestParseTarget(t *testing.T) {
	tests := []struct {
		arg     string
		want    Target
		wantErr string
	}{
		{"", Target{}, ""},
		{"v1.2.3", Target{Version: "v1.2.3"}, ""},
		{"v10.0.20", Target{Version: "v10.0.20"}, ""},
		{"branch:develop", Target{Branch: "develop"}, ""},
		{"branch:feature/x-1", Target{Branch: "feature/x-1"}, ""},
		{"2.0", Target{}, "invalid version"},
		{"v2.0", Target{}, "invalid version"},
		{"2.0.0", Target{}, "invalid version"},
		{"v2.0.0-rc.1", Target{}, "invalid version"},
		{"v02.0.0", Target{}, "invalid version"},
		{"latest", Target{}, "invalid version"},
		{"v1.0.0/../x", Target{}, "invalid version"},
		{"v1.0.0\x00", Target{}, "invalid version"},
		{"branch:", Target{}, "empty"},
		{"branch:--upload-pack=touch x", Target{}, "option"},
		{"branch:-b", Target{}, "option"},
		{"branch:../x", Target{}, ".."},
		{"branch:a..b", Target{}, ".."},
		{"branch:/abs", Target{}, "'/'"},
		{"branch:a/.hidden", Target{}, "starts with '.'"},
		{"branch:a b", Target{}, "git does not allow"},
		{"branch:a\x00b", Target{}, "git does not allow"},
		{"branch:x.lock", Target{}, ".lock"},
		{"branch:a@{1}", Target{}, "@{"},
	}
	for _, tt := range tests {
		t.Run(tt.arg, func(t *testing.T) {
			got, err := ParseTarget(tt.arg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseTarget(%q) = %v, %v; want error containing %q", tt.arg, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseTarget(%q) = %v, %v; want %v", tt.arg, got, err, tt.want)
			}
		})
	}
}

func TestValidateName(t *testing.T) {
	for name, ok := range map[string]bool{
		"engine": true, "device-gateway": true, "a.b": true,
		"": false, "../x": false, "a/b": false, "a..b": false, "-x": false, "Engine": false, "a\x00": false,
	} {
		if err := ValidateName(name); (err == nil) != ok {
			t.Errorf("ValidateName(%q) = %v, want ok=%v", name, err, ok)
		}
	}
}

func TestStableTags(t *testing.T) {
	got := StableTags([]string{"v1.2.0", "v1.10.0", "v1.9.9", "v2.0.0-rc.1", "foo", "1.5.0", "v0.9", "v1.2.0", "v0.1.0", "v2.0.0+build"})
	want := "v1.10.0 v1.9.9 v1.2.0 v0.1.0"
	if strings.Join(got, " ") != want {
		t.Fatalf("StableTags = %v, want %s", got, want)
	}
}

func TestListVersions(t *testing.T) {
	repo := newRepo(t, "v1.0.0", "v1.2.0", "v2.0.0-rc.1", "nightly", "v1.10.0")
	env := newEnv(t, "", map[string]*metadata.Component{"app": {Repo: repo.Bare}}, "app")
	ctx := context.Background()
	// Local state: v1.2.0 installed and bound, v0.9.0 installed but gone from
	// the remote, v1.0.0 cut off half-way (not installed).
	if _, err := Install(ctx, env, "app", Target{Version: "v1.2.0"}, Options{}); err != nil {
		t.Fatal(err)
	}
	for v, state := range map[string]string{"v0.9.0": "complete", "v1.0.0": "incomplete"} {
		dir := releaseDir(t, env, "app", v)
		os.MkdirAll(dir, 0o755)
		if err := writeMarker(releaseMarker(dir), marker{State: state, Component: "app", Version: v}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name   string
		env    *metadata.Env
		repo   string
		want   string
		remote bool
	}{
		{"outside an environment", nil, repo.Bare, "app:\n  v1.10.0\n  v1.2.0\n  v1.0.0\n", true},
		{"inside", env, repo.Bare, "app:\n  v1.10.0\n* v1.2.0 (installed)\n  v1.0.0\n  v0.9.0 (installed, not in remote tags)\n", true},
		{"remote unreachable", env, filepath.Join(t.TempDir(), "missing.git"), "app:\n* v1.2.0 (installed)\n  v0.9.0 (installed)\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := ListVersions(ctx, Git{}, tt.env, "app", tt.repo)
			if (l.RemoteErr == nil) != tt.remote {
				t.Fatalf("RemoteErr = %v", l.RemoteErr)
			}
			if got := l.Format(); got != tt.want {
				t.Fatalf("Format:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}

	t.Run("branch first", func(t *testing.T) {
		if _, err := Install(ctx, env, "app", Target{Branch: "develop"}, Options{}); err != nil {
			t.Fatal(err)
		}
		got := ListVersions(ctx, Git{}, env, "app", repo.Bare).Format()
		want := "app:\n* branch:develop (installed)\n  v1.10.0\n  v1.2.0 (installed)\n  v1.0.0\n  v0.9.0 (installed, not in remote tags)\n"
		if got != want {
			t.Fatalf("Format:\n%s\nwant:\n%s", got, want)
		}
	})
}

func TestInstallRelease(t *testing.T) {
	repo := newRepo(t, "v1.0.0", "v1.2.0", "v1.3.0-rc.1")
	step, log := recorder(t)
	env := newEnv(t, "", map[string]*metadata.Component{"app": {Repo: repo.Bare, Setup: []metadata.Step{step}}}, "app")
	ctx := context.Background()

	res, err := Install(ctx, env, "app", Target{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir := releaseDir(t, env, "app", "v1.2.0")
	if res.Binding != "v1.2.0" || res.Dir != dir || res.Reused || res.Previous != "" {
		t.Fatalf("latest install: %+v", res)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "VERSION")); string(data) != "v1.2.0\n" {
		t.Fatalf("VERSION = %q, want the v1.2.0 tree", data)
	}
	if _, err := os.Stat(filepath.Join(dir, ".git")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a release keeps no .git: %v", err)
	}
	if got, want := lines(t, log), []string{dir + " " + dir + " " + env.Root}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("setup ran as %q, want %q", got, want)
	}
	if b := binding(t, env, "app"); b != "v1.2.0" || !IsInstalled(dir, false) {
		t.Fatalf("binding %q, installed %v", b, IsInstalled(dir, false))
	}

	res, err = Install(ctx, env, "app", Target{Version: "v1.0.0"}, Options{})
	if err != nil || res.Binding != "v1.0.0" || res.Previous != "v1.2.0" {
		t.Fatalf("pinned install: %+v, %v", res, err)
	}
	// Reuse: a complete release is neither fetched nor set up again, even if
	// the remote is gone.
	os.RemoveAll(repo.Bare)
	res, err = Install(ctx, env, "app", Target{Version: "v1.2.0"}, Options{})
	if err != nil || !res.Reused || binding(t, env, "app") != "v1.2.0" {
		t.Fatalf("reuse: %+v, %v", res, err)
	}
	if n := len(lines(t, log)); n != 2 {
		t.Fatalf("setup ran %d times, want 2 (once per release)", n)
	}
}

func TestFailedSetupKeepsBindingAndIsRedone(t *testing.T) {
	repo := newRepo(t, "v1.0.0", "v1.2.0")
	step, log := recorder(t)
	c := &metadata.Component{Repo: repo.Bare, Setup: []metadata.Step{step}}
	env := newEnv(t, "", map[string]*metadata.Component{"app": c}, "app")
	ctx := context.Background()
	if _, err := Install(ctx, env, "app", Target{Version: "v1.0.0"}, Options{}); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(env.Path(metadata.MetadataFile))

	c.Setup = []metadata.Step{step, failing()}
	_, err := Install(ctx, env, "app", Target{Version: "v1.2.0"}, Options{})
	if err == nil || !strings.Contains(err.Error(), "setup step 2") || !strings.Contains(err.Error(), "setup broke") {
		t.Fatalf("want the failing step and its output in the error, got %v", err)
	}
	after, _ := os.ReadFile(env.Path(metadata.MetadataFile))
	if string(before) != string(after) {
		t.Fatalf(".metadata changed:\n%s\n->\n%s", before, after)
	}
	dir := releaseDir(t, env, "app", "v1.2.0")
	if IsInstalled(dir, false) {
		t.Fatal("a release whose setup failed counts as installed")
	}
	if l := ListVersions(ctx, Git{}, env, "app", repo.Bare).Format(); strings.Contains(l, "v1.2.0 (installed") {
		t.Fatalf("versions shows the failed release as installed:\n%s", l)
	}

	c.Setup = []metadata.Step{step}
	res, err := Install(ctx, env, "app", Target{Version: "v1.2.0"}, Options{})
	if err != nil || res.Reused || !IsInstalled(dir, false) || binding(t, env, "app") != "v1.2.0" {
		t.Fatalf("redo after failure: %+v, %v", res, err)
	}
	if n := len(lines(t, log)); n != 3 {
		t.Fatalf("setup ran %d times, want 3", n)
	}
}

func TestBuildImagesHook(t *testing.T) {
	repo := newRepo(t, "v1.0.0", "v1.1.0")
	ctx := context.Background()
	boom := errors.New("daemon said no")
	tests := []struct {
		name        string
		skip        bool
		hookErr     error
		wantErr     bool
		wantCalls   int
		wantBuilt   bool
		wantSkipped bool
	}{
		{"builds", false, nil, false, 1, true, false},
		{"failing build keeps the old binding", false, boom, true, 1, false, false},
		{"skip-sse-build", true, boom, false, 0, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newEnv(t, "", map[string]*metadata.Component{"app": {Repo: repo.Bare}}, "app")
			env.Manifest.Images = map[string]*metadata.Image{"rt": {Component: "app", Context: ".", Tag: "x", BuildOnInstall: true}}
			env.Manifest.ImageOrder = []string{"rt"}
			if _, err := Install(ctx, env, "app", Target{Version: "v1.0.0"}, Options{SkipImageBuild: true}); err != nil {
				t.Fatal(err)
			}
			var calls []string
			hook := func(_ context.Context, e *metadata.Env, comp, dir string) error {
				calls = append(calls, comp+" "+dir)
				if !IsInstalled(dir, false) {
					t.Errorf("hook called before setup finished")
				}
				return tt.hookErr
			}
			res, err := Install(ctx, env, "app", Target{Version: "v1.1.0"}, Options{BuildImages: hook, SkipImageBuild: tt.skip})
			if (err != nil) != tt.wantErr || (tt.wantErr && !errors.Is(err, boom)) {
				t.Fatalf("err = %v", err)
			}
			if len(calls) != tt.wantCalls {
				t.Fatalf("hook calls %v", calls)
			}
			want := "v1.1.0"
			if tt.wantErr {
				want = "v1.0.0"
			} else if res.ImagesBuilt != tt.wantBuilt || (len(res.ImagesSkipped) > 0) != tt.wantSkipped {
				t.Fatalf("result %+v", res)
			}
			if b := binding(t, env, "app"); b != want {
				t.Fatalf("binding %q, want %q", b, want)
			}
			if tt.wantCalls > 0 && calls[0] != "app "+releaseDir(t, env, "app", "v1.1.0") {
				t.Fatalf("hook got %q", calls[0])
			}
		})
	}
}

func TestBranchInstall(t *testing.T) {
	repo := newRepo(t, "v1.0.0")
	step, log := recorder(t)
	env := newEnv(t, "", map[string]*metadata.Component{"app": {Repo: repo.Bare, Setup: []metadata.Step{step}}}, "app")
	ctx := context.Background()
	if _, err := Install(ctx, env, "app", Target{Version: "v1.0.0"}, Options{}); err != nil {
		t.Fatal(err)
	}
	dir := env.BranchDir("app")
	res, err := Install(ctx, env, "app", Target{Branch: "develop"}, Options{})
	if err != nil || res.Dir != dir || res.Binding != "branch:develop" || res.Previous != "v1.0.0" {
		t.Fatalf("branch install: %+v, %v", res, err)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "DEVELOP")); string(data) != "one\n" {
		t.Fatalf("DEVELOP = %q", data)
	}
	if d, err := env.ComponentDir("app"); err != nil || d != dir || !IsInstalled(dir, true) {
		t.Fatalf("ComponentDir = %q, %v", d, err)
	}
	if st := git(t, dir, "status", "--porcelain"); st != "" {
		t.Fatalf("the marker shows in git status: %q", st)
	}

	// Re-install: refused while the checkout holds a file of the user's;
	// then removed and cloned again, so a new commit arrives.
	os.WriteFile(filepath.Join(dir, "scratch"), []byte("x"), 0o644)
	if _, err := Install(ctx, env, "app", Target{Branch: "develop"}, Options{}); err == nil || !strings.Contains(err.Error(), "?? scratch") {
		t.Fatalf("re-install over an untracked file: %v", err)
	}
	os.Remove(filepath.Join(dir, "scratch"))
	git(t, repo.Work, "checkout", "-q", "develop")
	repo.commit(t, "DEVELOP", "two")
	git(t, repo.Work, "push", "-q", repo.Bare, "develop")
	if _, err := Install(ctx, env, "app", Target{Branch: "develop"}, Options{}); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "DEVELOP")); string(data) != "two\n" {
		t.Fatalf("re-install did not fetch the new head: DEVELOP = %q", data)
	}
	if got := lines(t, log); len(got) != 3 || got[2] != dir+" "+dir+" "+env.Root {
		t.Fatalf("setup log %q", got)
	}
	if g := git(t, dir, "rev-parse", "--abbrev-ref", "@{upstream}"); g != "origin/develop" {
		t.Fatalf("upstream %q", g)
	}

	// A branch that does not exist leaves the install and binding alone.
	if _, err := Install(ctx, env, "app", Target{Branch: "nope"}, Options{}); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("missing branch: %v", err)
	}
	if binding(t, env, "app") != "branch:develop" || !IsInstalled(dir, true) {
		t.Fatal("a failed branch clone touched the existing branch install")
	}

	if _, err := Uninstall(ctx, env, "app", Target{Branch: "other"}, nil); err == nil {
		t.Fatal("uninstall of a branch that is not installed succeeded")
	}
	ures, err := Uninstall(ctx, env, "app", Target{Branch: "develop"}, nil)
	if err != nil || !ures.Unbound {
		t.Fatalf("uninstall: %+v, %v", ures, err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("branch directory still there")
	}
	if b := binding(t, env, "app"); b != "" {
		t.Fatalf("binding %q left after branch uninstall", b)
	}
}

func TestUpdateThenUninstallKeepsBinding(t *testing.T) {
	repo := newRepo(t, "v1.0.0")
	env := newEnv(t, "", map[string]*metadata.Component{"app": {Repo: repo.Bare}}, "app")
	ctx := context.Background()
	if _, err := Install(ctx, env, "app", Target{}, Options{}); err != nil {
		t.Fatal(err)
	}
	git(t, repo.Work, "tag", "v1.1.0")
	git(t, repo.Work, "push", "-q", "--tags", repo.Bare)
	res, err := Install(ctx, env, "app", Target{}, Options{}) // update
	if err != nil || res.Binding != "v1.1.0" || res.Previous != "v1.0.0" {
		t.Fatalf("update: %+v, %v", res, err)
	}
	ures, err := Uninstall(ctx, env, "app", Target{Version: "v1.1.0"}, nil)
	if err != nil || !ures.StillBound {
		t.Fatalf("uninstall: %+v, %v", ures, err)
	}
	if _, err := os.Stat(releaseDir(t, env, "app", "v1.1.0")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("release directory still there")
	}
	if b := binding(t, env, "app"); b != "v1.1.0" {
		t.Fatalf("binding %q, want it kept", b)
	}
	if !IsInstalled(releaseDir(t, env, "app", "v1.0.0"), false) {
		t.Fatal("uninstall removed another version")
	}
	if _, err := Uninstall(ctx, env, "app", Target{Version: "v1.1.0"}, nil); err == nil || !strings.Contains(err.Error(), "not installed") {
		t.Fatalf("second uninstall: %v", err)
	}
}

func TestInstallAllStopsAtFirstFailure(t *testing.T) {
	a, c := newRepo(t, "v1.0.0", "v1.1.0"), newRepo(t, "v3.0.0")
	comps := map[string]*metadata.Component{
		"a": {Repo: a.Bare},
		"b": {Repo: filepath.Join(t.TempDir(), "no-such-repo.git")},
		"c": {Repo: c.Bare},
	}
	env := newEnv(t, "", comps, "a", "b", "c")
	results, err := InstallAll(context.Background(), env, Options{})
	if err == nil || !strings.Contains(err.Error(), "b") {
		t.Fatalf("err = %v", err)
	}
	if len(results) != 1 || results[0].Component != "a" || results[0].Binding != "v1.1.0" {
		t.Fatalf("results %+v", results)
	}
	if binding(t, env, "a") != "v1.1.0" || binding(t, env, "b") != "" || binding(t, env, "c") != "" {
		t.Fatal("bindings: want a bound and b, c untouched")
	}
	comps["b"].Repo = c.Bare
	results, err = InstallAll(context.Background(), env, Options{})
	if err != nil || len(results) != 3 || !results[0].Reused {
		t.Fatalf("second run: %v, %v", results, err)
	}
}

func TestConcurrentInstallsShareOneRelease(t *testing.T) {
	repo := newRepo(t, "v1.0.0")
	step, log := recorder(t)
	root := filepath.Join(t.TempDir(), "releases")
	comps := func() map[string]*metadata.Component {
		return map[string]*metadata.Component{"app": {Repo: repo.Bare, Setup: []metadata.Step{step}}}
	}
	envs := []*metadata.Env{newEnv(t, root, comps(), "app"), newEnv(t, root, comps(), "app"), newEnv(t, root, comps(), "app")}
	var wg sync.WaitGroup
	errs := make([]error, len(envs))
	for i, env := range envs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = Install(context.Background(), env, "app", Target{Version: "v1.0.0"}, Options{})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("env %d: %v", i, err)
		}
		if binding(t, envs[i], "app") != "v1.0.0" {
			t.Fatalf("env %d not bound", i)
		}
	}
	if n := len(lines(t, log)); n != 1 {
		t.Fatalf("setup ran %d times for one shared release", n)
	}
}

func TestBadInputChangesNothing(t *testing.T) {
	repo := newRepo(t, "v1.0.0", "v1.1.0")
	hang := filepath.Join(t.TempDir(), "hang.sh")
	// An ssh that never answers: git waits on it until berth's timeout.
	os.WriteFile(hang, []byte("#!/bin/sh\nexec sleep 600\n"), 0o755)
	t.Setenv("GIT_SSH", hang)
	t.Setenv("GIT_SSH_COMMAND", "")
	os.Unsetenv("GIT_SSH_COMMAND")

	tests := []struct {
		name    string
		repo    string
		comp    string
		target  Target
		prepare func(env *metadata.Env)
		wantErr string
	}{
		{"unknown component", repo.Bare, "nope", Target{Version: "v1.0.0"}, nil, `unknown component "nope"`},
		{"component with a slash", repo.Bare, "../app", Target{Version: "v1.0.0"}, nil, "invalid component name"},
		{"missing tag", repo.Bare, "app", Target{Version: "v9.9.9"}, nil, "v9.9.9"},
		{"missing remote", "/nonexistent/repo.git", "app", Target{}, nil, "/nonexistent/repo.git"},
		{"missing remote, pinned", "/nonexistent/repo.git", "app", Target{Version: "v1.0.0"}, nil, "/nonexistent/repo.git"},
		{"hanging remote", "ssh://example.invalid/repo.git", "app", Target{}, nil, "no answer within"},
		{"release directory not berth's", repo.Bare, "app", Target{Version: "v1.1.0"}, func(env *metadata.Env) {
			dir := releaseDir(t, env, "app", "v1.1.0")
			os.MkdirAll(dir, 0o755)
			os.WriteFile(filepath.Join(dir, "precious"), []byte("keep me"), 0o644)
		}, "not a berth install"},
		{"release path is a symlink", repo.Bare, "app", Target{Version: "v1.1.0"}, func(env *metadata.Env) {
			os.MkdirAll(installRoot(t, env), 0o755)
			os.Symlink(env.Root, releaseDir(t, env, "app", "v1.1.0"))
		}, "not a berth install"},
		{"branch directory not a checkout", repo.Bare, "app", Target{Branch: "develop"}, func(env *metadata.Env) {
			os.MkdirAll(env.BranchDir("app"), 0o755)
			os.WriteFile(filepath.Join(env.BranchDir("app"), "notes"), []byte("mine"), 0o644)
		}, "not a branch install"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newEnv(t, "", map[string]*metadata.Component{"app": {Repo: tt.repo}}, "app")
			if tt.repo == repo.Bare { // something bound and installed to keep
				if _, err := Install(context.Background(), env, "app", Target{Version: "v1.0.0"}, Options{}); err != nil {
					t.Fatal(err)
				}
			}
			if tt.prepare != nil {
				tt.prepare(env)
			}
			os.MkdirAll(installRoot(t, env), 0o755) // berth may make its own root
			before := snapshot(t, env.Root, installRoot(t, env))
			meta, _ := os.ReadFile(env.Path(metadata.MetadataFile))
			start := time.Now()
			_, err := Install(context.Background(), env, tt.comp, tt.target, Options{Git: Git{Timeout: 300 * time.Millisecond}})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
			}
			if time.Since(start) > 10*time.Second {
				t.Fatalf("took %v", time.Since(start))
			}
			after, _ := os.ReadFile(env.Path(metadata.MetadataFile))
			if string(meta) != string(after) {
				t.Fatalf(".metadata changed")
			}
			sameSnapshot(t, before, snapshot(t, env.Root, installRoot(t, env)))
		})
	}
}
