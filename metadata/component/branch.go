package component

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/berthdev/berth/metadata"
)

// previousDir is where the tree a branch reinstall replaces waits until the
// new one is complete: put back if the install fails or is cut off, removed
// once the new tree's setup succeeded.
func previousDir(env *metadata.Env, component string) string {
	return env.Path("." + component + ".previous")
}

// installBranch makes $ENV_ROOT/<component> a fresh shallow clone of the
// branch. A checkout holding work that is not on its remote is never
// replaced; the old tree stays whole (set aside, then put back) until the
// new one's setup succeeded.
func installBranch(ctx context.Context, env *metadata.Env, component string, c *metadata.Component, branch string, opts Options, res *Result) error {
	dir := env.BranchDir(component)
	res.Dir = dir
	lock, err := metadata.Lock(env.Path(".locks", component+".branch.lock"))
	if err != nil {
		return err
	}
	defer lock.Unlock()
	stagingPrefix := "." + component + ".staging-"
	previous := previousDir(env, component)
	if err := restorePrevious(dir, previous, env.Root, stagingPrefix); err != nil {
		return err
	}
	removeStale(env.Root, stagingPrefix)
	if err := checkBranchDir(dir, c.InstalledWhen); err != nil {
		return err
	}
	if err := checkNoLocalWork(ctx, opts.Git, dir, component, branch); err != nil {
		return err
	}
	staging, err := os.MkdirTemp(env.Root, stagingPrefix)
	if err != nil {
		return fmt.Errorf("install %s branch %s: %w", component, branch, err)
	}
	defer os.RemoveAll(staging)
	done := opts.step(component, "cloning branch "+branch+" from "+c.Repo)
	commit, err := opts.Git.CloneBranch(ctx, c.Repo, branch, staging)
	done(err)
	if err != nil {
		return fmt.Errorf("clone %s branch %s from %s: %w", component, branch, c.Repo, err)
	}
	res.Commit = commit
	mk := marker{State: "incomplete", Component: component, Branch: branch, Repo: c.Repo, Commit: commit}
	if err := writeMarker(branchMarker(staging), mk); err != nil {
		return err
	}
	// The setup steps must run at the final path (uv writes absolute paths),
	// so the old tree moves aside for them, whole, and comes back on failure.
	if _, err := os.Lstat(dir); err == nil {
		if err := os.Rename(dir, previous); err != nil {
			return fmt.Errorf("set the previous branch install %s aside: %w", dir, err)
		}
	}
	if err := os.Rename(staging, dir); err != nil {
		restorePrevious(dir, previous, env.Root, stagingPrefix)
		return fmt.Errorf("move %s branch %s into place at %s: %w", component, branch, dir, err)
	}
	if err := setupChecked(ctx, env, component, c, dir, opts); err != nil {
		back := "the previous tree is back in " + dir + " and stays bound"
		if rerr := restorePrevious(dir, previous, env.Root, stagingPrefix); rerr != nil {
			back = rerr.Error()
		} else if _, err := os.Lstat(dir); err != nil {
			back = "nothing was installed before, so " + dir + " is gone again"
		}
		if se, ok := err.(*SetupError); ok {
			se.Then = back
		}
		return err
	}
	mk.State = "complete"
	if err := writeMarker(branchMarker(dir), mk); err != nil {
		return err
	}
	return os.RemoveAll(previous)
}

// restorePrevious finishes a branch reinstall that did not complete: the
// tree set aside goes back in place of an unfinished new one. Once the new
// tree is complete, what is set aside is only left over and is removed.
func restorePrevious(dir, previous, parent, stagingPrefix string) error {
	if _, err := os.Lstat(previous); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	switch st, _ := readMarker(branchMarker(dir)); st {
	case stateComplete:
		return os.RemoveAll(previous)
	case stateForeign:
		return fmt.Errorf("%s is not berth's, and the previous branch install waits in %s: move one of them away, then install again", dir, previous)
	}
	if err := removeDir(dir, parent, stagingPrefix); err != nil {
		return fmt.Errorf("remove the unfinished branch install %s: %w (the previous tree is in %s)", dir, err, previous)
	}
	if err := os.Rename(previous, dir); err != nil {
		return fmt.Errorf("put the previous branch install back from %s to %s: %w", previous, dir, err)
	}
	return nil
}

// checkNoLocalWork refuses to replace a git checkout holding work that is
// not on its remote: uncommitted or untracked files, local commits not
// pushed, stashes. Ignored files (a .venv) are not work.
func checkNoLocalWork(ctx context.Context, git Git, dir, component, branch string) error {
	if fi, err := os.Lstat(filepath.Join(dir, ".git")); err != nil || !fi.IsDir() {
		return nil
	}
	w, err := git.LocalWork(ctx, dir)
	if err != nil {
		return fmt.Errorf("cannot tell whether %s holds work that is not pushed, so berth leaves it alone: %w", dir, err)
	}
	if w.Empty() {
		return nil
	}
	return fmt.Errorf("%s holds work that is not on its remote (%s), which a reinstall would delete: commit and push it (git -C %s status), or move the directory away (mv %s %s.keep), then run `berth install %s branch:%s` again",
		dir, w, dir, dir, dir, component, branch)
}

// checkBranchDir refuses to replace a directory that is neither a berth
// branch install nor a git checkout (as the OQTOPUS CLI leaves), so that a
// component named like config/ never costs the user their files.
func checkBranchDir(dir string, rule []string) error {
	st, _ := readMarker(branchMarker(dir))
	if st == stateAbsent || st == stateComplete || st == stateIncomplete || ruleHolds(dir, rule) {
		return nil
	}
	if fi, err := os.Lstat(filepath.Join(dir, ".git")); err == nil && fi.IsDir() {
		if dfi, err := os.Lstat(dir); err == nil && dfi.IsDir() {
			return nil
		}
	}
	return fmt.Errorf("%s exists but is not a branch install (no git checkout there): berth leaves it alone; move it away, then install again", dir)
}

// LocalWork is what a checkout holds that its remote does not.
type LocalWork struct {
	// Changes are `git status --porcelain` lines: modified, staged and
	// untracked (not ignored) files.
	Changes []string
	// Unpushed counts commits on no remote-tracking branch.
	Unpushed int
	Stash    bool
}

// Empty says there is nothing to lose.
func (w LocalWork) Empty() bool { return len(w.Changes) == 0 && w.Unpushed == 0 && !w.Stash }

func (w LocalWork) String() string {
	var parts []string
	if n := len(w.Changes); n > 0 {
		shown := w.Changes
		if n > 3 {
			shown = append(shown[:3:3], "...")
		}
		parts = append(parts, fmt.Sprintf("%d uncommitted change(s): %s", n, strings.Join(shown, ", ")))
	}
	if w.Unpushed > 0 {
		parts = append(parts, fmt.Sprintf("%d commit(s) not pushed", w.Unpushed))
	}
	if w.Stash {
		parts = append(parts, "a stash")
	}
	return strings.Join(parts, "; ")
}

func uninstallBranch(env *metadata.Env, component, branch string, bound metadata.Binding, res *UninstallResult, inUse InUseFunc) error {
	dir := env.BranchDir(component)
	res.Dir = dir
	lock, err := metadata.Lock(env.Path(".locks", component+".branch.lock"))
	if err != nil {
		return err
	}
	defer lock.Unlock()
	st, m := readMarker(branchMarker(dir))
	isBound := bound.Branch == branch
	switch {
	case st == stateAbsent && !isBound:
		return fmt.Errorf("%s branch %s is not installed in this environment (no %s)", component, branch, dir)
	case (st == stateComplete || st == stateIncomplete) && m.Branch != branch:
		return fmt.Errorf("%s holds branch %s of %s, not %s: run `berth uninstall %s branch:%s`", dir, m.Branch, component, branch, component, m.Branch)
	case st == stateForeign:
		if err := checkBranchDir(dir, ruleOf(env, component)); err != nil || !isBound {
			return fmt.Errorf("%s is not a berth branch install of %s: berth leaves it alone", dir, branch)
		}
	}
	if err := checkNotInUse(inUse, component, Target{Branch: branch}, dir); err != nil {
		return err
	}
	if err := removeDir(dir, env.Root, "."+component+".staging-"); err != nil {
		return fmt.Errorf("remove %s: %w", dir, err)
	}
	if isBound {
		err := env.UpdateMetadata(func(m *metadata.Metadata) error {
			if b, ok := m.Get(env.BindingKey(component)); ok && b == metadata.BranchPrefix+branch {
				m.Delete(env.BindingKey(component))
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("%s was removed but its binding was not: %w", dir, err)
		}
		res.Unbound = true
	}
	return nil
}
