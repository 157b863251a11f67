package component

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berthdev/berth/metadata"
)

// A branch reinstall never deletes work that is not on the remote, and a
// setup that fails leaves the old tree working and bound.
func TestBranchReinstallKeepsWork(t *testing.T) {
	repo := newRepo(t, "v1.0.0")
	failFlag := filepath.Join(t.TempDir(), "fail")
	// Setup fails while failFlag exists.
	step := metadata.Step{Run: []string{"sh", "-c", `test ! -e "$$0" || { echo no >&2; exit 3; }`, failFlag}}
	env := newEnv(t, "", map[string]*metadata.Component{"app": {Repo: repo.Bare, Setup: []metadata.Step{step}}}, "app")
	ctx := context.Background()
	dir := env.BranchDir("app")
	if _, err := Install(ctx, env, "app", Target{Branch: "develop"}, Options{}); err != nil {
		t.Fatal(err)
	}
	develop := filepath.Join(dir, "DEVELOP")

	// Uncommitted change: refused, the change kept, the way on said.
	os.WriteFile(develop, []byte("mine\n"), 0o644)
	_, err := Install(ctx, env, "app", Target{Branch: "develop"}, Options{})
	if err == nil || !strings.Contains(err.Error(), "1 uncommitted change(s): M DEVELOP") || !strings.Contains(err.Error(), "commit and push it") || !strings.Contains(err.Error(), "mv "+dir) {
		t.Fatalf("re-install over an uncommitted change: %v", err)
	}
	if data, _ := os.ReadFile(develop); string(data) != "mine\n" {
		t.Fatalf("the change is lost: DEVELOP = %q", data)
	}

	// Committed but not pushed: refused too.
	git(t, dir, "-c", "user.name=t", "-c", "user.email=t@x", "commit", "-q", "-am", "local")
	if _, err := Install(ctx, env, "app", Target{Branch: "develop"}, Options{}); err == nil || !strings.Contains(err.Error(), "1 commit(s) not pushed") {
		t.Fatalf("re-install over an unpushed commit: %v", err)
	}
	if data, _ := os.ReadFile(develop); string(data) != "mine\n" {
		t.Fatalf("the commit is lost: DEVELOP = %q", data)
	}
	git(t, dir, "reset", "-q", "--hard", "origin/develop")

	// Setup of the new tree fails: the old tree is back, complete and bound.
	os.WriteFile(failFlag, nil, 0o644)
	git(t, repo.Work, "checkout", "-q", "develop")
	repo.commit(t, "DEVELOP", "two")
	git(t, repo.Work, "push", "-q", repo.Bare, "develop")
	_, err = Install(ctx, env, "app", Target{Branch: "develop"}, Options{})
	if err == nil || !strings.Contains(err.Error(), "the previous tree is back in "+dir) {
		t.Fatalf("failing setup: %v", err)
	}
	if data, _ := os.ReadFile(develop); string(data) != "one\n" {
		t.Fatalf("old tree not back: DEVELOP = %q", data)
	}
	if binding(t, env, "app") != "branch:develop" || !IsInstalled(dir, true) {
		t.Fatal("old tree not complete and bound after a failed setup")
	}
	if _, err := os.Stat(previousDir(env, "app")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("set-aside tree left: %v", err)
	}

	// A reinstall cut off during setup (the old tree set aside, the new one
	// unfinished) is undone by the next install, which then succeeds.
	os.Rename(dir, previousDir(env, "app"))
	os.MkdirAll(filepath.Join(dir, ".git"), 0o755)
	writeMarker(branchMarker(dir), marker{State: "incomplete", Component: "app", Branch: "develop"})
	os.Remove(failFlag)
	if _, err := Install(ctx, env, "app", Target{Branch: "develop"}, Options{}); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(develop); string(data) != "two\n" {
		t.Fatalf("DEVELOP = %q after a good reinstall", data)
	}
	if _, err := os.Stat(previousDir(env, "app")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("set-aside tree left: %v", err)
	}
}
