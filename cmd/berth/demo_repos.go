package main

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
)

// demoSources are the demo components' trees; berth demo turns them into
// git repositories with release tags and a branch.
//
//go:embed all:demo_sources
var demoSources embed.FS

// demoRepo is how one demo component's history is made: a commit per
// release, each tagged, then a branch with one commit more.
type demoRepo struct {
	component string
	releases  []string // oldest first; a pre-release tag is not stable and versions hides it
	branch    string
}

var demoRepos = []demoRepo{
	{component: "api", releases: []string{"v0.1.0", "v0.2.0", "v1.0.0", "v1.1.0-rc.1"}, branch: "next"},
	{component: "web", releases: []string{"v0.1.0", "v0.2.0"}, branch: "next"},
}

// makeDemoRepos makes a bare repository dir/<component>.git for each demo
// component, with the demo's tags and branch, from the embedded sources.
func makeDemoRepos(ctx context.Context, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, r := range demoRepos {
		if err := r.make(ctx, dir); err != nil {
			return fmt.Errorf("demo repository %s: %w", r.component, err)
		}
	}
	return nil
}

func (r demoRepo) make(ctx context.Context, dir string) error {
	work, err := os.MkdirTemp(dir, ".work-"+r.component+"-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	git := func(args ...string) error { return demoGit(ctx, work, args...) }
	if err := git("init", "-q", "-b", "main"); err != nil {
		return err
	}
	if err := writeDemoTree(r.component, work); err != nil {
		return err
	}
	commit := func(message, what string) error {
		if err := os.WriteFile(filepath.Join(work, "message.txt"), []byte(r.component+" "+what+"\n"), 0o644); err != nil {
			return err
		}
		if err := git("add", "-A"); err != nil {
			return err
		}
		return git("commit", "-q", "-m", message)
	}
	for _, v := range r.releases {
		if err := commit("release "+v, v); err != nil {
			return err
		}
		if err := git("tag", v); err != nil {
			return err
		}
	}
	if err := git("checkout", "-q", "-b", r.branch); err != nil {
		return err
	}
	if err := commit("work in progress on "+r.branch, "branch:"+r.branch); err != nil {
		return err
	}
	if err := git("checkout", "-q", "main"); err != nil {
		return err
	}
	return demoGit(ctx, dir, "clone", "-q", "--bare", work, r.component+".git")
}

func writeDemoTree(component, dst string) error {
	root := path.Join("demo_sources", component)
	return fs.WalkDir(demoSources, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		target := filepath.Join(dst, filepath.FromSlash(strings.TrimPrefix(p, root)))
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := demoSources.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
}

// demoGit runs git with a fixed identity and none of the user's hooks or
// signing, so that the demo's commits work on any machine.
func demoGit(ctx context.Context, dir string, args ...string) error {
	full := append([]string{"-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false", "-c", "core.hooksPath=/dev/null"}, args...)
	cmd := exec.CommandContext(ctx, "git", full...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"GIT_AUTHOR_NAME=berth demo", "GIT_AUTHOR_EMAIL=demo@berth.invalid",
		"GIT_COMMITTER_NAME=berth demo", "GIT_COMMITTER_EMAIL=demo@berth.invalid",
		"GIT_TERMINAL_PROMPT=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		if _, lookErr := exec.LookPath("git"); lookErr != nil {
			return fmt.Errorf("git is not installed: install git to run the demo")
		}
		return fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
