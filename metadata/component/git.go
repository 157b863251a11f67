package component

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// TimeoutEnv overrides how long one git command may take, e.g. 30s or 5m.
const TimeoutEnv = "BERTH_GIT_TIMEOUT"

// Defaults for a remote that does not answer: listing tags is small, a
// fetch may move a whole tree over a slow link.
const (
	DefaultListTimeout  = 60 * time.Second
	DefaultFetchTimeout = 10 * time.Minute
)

// Git runs the git command. Going through the binary rather than a library
// keeps the user's credential helpers, SSH config and proxies working.
type Git struct {
	// Timeout bounds each git command; zero means the defaults above, or
	// $BERTH_GIT_TIMEOUT when set.
	Timeout time.Duration
}

// ErrGitMissing means there is no git on PATH.
var ErrGitMissing = errors.New("git is not installed or not on PATH: install git to list or install components")

// GitError is a failed git command with what it printed.
type GitError struct {
	Args     []string
	Stderr   string
	TimedOut time.Duration
	Err      error
}

func (e *GitError) Error() string {
	what := "git " + strings.Join(e.Args, " ")
	if e.TimedOut > 0 {
		return fmt.Sprintf("%s: no answer within %s (is the remote reachable? set %s to wait longer)", what, e.TimedOut, TimeoutEnv)
	}
	msg := strings.TrimSpace(e.Stderr)
	if i := strings.LastIndex(msg, "\n"); i >= 0 && strings.HasPrefix(msg[i+1:], "fatal:") {
		msg = msg[i+1:]
	}
	if msg == "" {
		return fmt.Sprintf("%s: %v", what, e.Err)
	}
	return fmt.Sprintf("%s: %s", what, msg)
}

func (e *GitError) Unwrap() error { return e.Err }

func (g Git) timeout(def time.Duration) (time.Duration, error) {
	if g.Timeout > 0 {
		return g.Timeout, nil
	}
	if s := os.Getenv(TimeoutEnv); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return 0, fmt.Errorf("%s=%q is not a duration: write it like 30s or 5m", TimeoutEnv, s)
		}
		return d, nil
	}
	return def, nil
}

// run runs git with args in dir and returns its stdout. The command gets a
// process group of its own so that a timeout also ends the ssh or remote
// helper it started, which would otherwise hold its pipes open.
func (g Git) run(ctx context.Context, def time.Duration, dir string, args ...string) ([]byte, error) {
	bin, err := exec.LookPath("git")
	if err != nil {
		return nil, ErrGitMissing
	}
	limit, err := g.timeout(def)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GCM_INTERACTIVE=never", "GIT_SSH_VARIANT=auto")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	if err != nil {
		ge := &GitError{Args: args, Stderr: stderr.String(), Err: err}
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			ge.TimedOut = limit
			ge.Err = context.DeadlineExceeded
		} else if ctx.Err() != nil {
			ge.Err = ctx.Err()
		}
		return nil, ge
	}
	return stdout.Bytes(), nil
}

// Tags lists the tag names of the remote repo (ls-remote, nothing fetched).
// A repository on this machine is read without git where that gives
// ls-remote's answer for certain (see localTags).
func (g Git) Tags(ctx context.Context, repo string) ([]string, error) {
	if tags, ok := localTags(repo); ok {
		return tags, nil
	}
	return g.lsRemoteTags(ctx, repo)
}

// lsRemoteTags lists the tags of repo with git ls-remote.
func (g Git) lsRemoteTags(ctx context.Context, repo string) ([]string, error) {
	out, err := g.run(ctx, DefaultListTimeout, "", "ls-remote", "--tags", "--refs", "--", repo)
	if err != nil {
		return nil, err
	}
	var tags []string
	for _, line := range strings.Split(string(out), "\n") {
		_, ref, ok := strings.Cut(line, "\t")
		if name, isTag := strings.CutPrefix(ref, "refs/tags/"); ok && isTag {
			tags = append(tags, name)
		}
	}
	return tags, nil
}

// FetchTag places the tree of tag in dir (empty or absent) without its git
// history, and returns the commit it came from.
func (g Git) FetchTag(ctx context.Context, repo, tag, dir string) (string, error) {
	if _, err := g.run(ctx, DefaultFetchTimeout, "", "init", "-q", "--", dir); err != nil {
		return "", err
	}
	if _, err := g.run(ctx, DefaultFetchTimeout, dir, "fetch", "-q", "--depth", "1", "--no-tags", "--", repo, "refs/tags/"+tag); err != nil {
		return "", err
	}
	if _, err := g.run(ctx, DefaultFetchTimeout, dir, "-c", "advice.detachedHead=false", "checkout", "-q", "--detach", "FETCH_HEAD^{commit}"); err != nil {
		return "", err
	}
	out, err := g.run(ctx, DefaultFetchTimeout, dir, "rev-parse", "HEAD")
	if err != nil {
		return "", err
	}
	if err := os.RemoveAll(dir + "/.git"); err != nil {
		return "", fmt.Errorf("remove the git metadata of %s: %w", dir, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// CloneBranch makes dir (empty or absent) a shallow clone of the branch,
// with origin set up so that git pull works in it, and returns the commit.
func (g Git) CloneBranch(ctx context.Context, repo, branch, dir string) (string, error) {
	steps := [][]string{
		{"init", "-q", "--", dir},
		{"-C", dir, "config", "remote.origin.url", repo},
		{"-C", dir, "config", "remote.origin.fetch", "+refs/heads/" + branch + ":refs/remotes/origin/" + branch},
		{"-C", dir, "fetch", "-q", "--depth", "1", "--no-tags", "origin"},
		{"-C", dir, "checkout", "-q", "-B", branch, "--track", "origin/" + branch},
		{"-C", dir, "rev-parse", "HEAD"},
	}
	var out []byte
	for _, args := range steps {
		var err error
		if out, err = g.run(ctx, DefaultFetchTimeout, "", args...); err != nil {
			return "", err
		}
	}
	return strings.TrimSpace(string(out)), nil
}

// LocalWork reports what the checkout in dir holds that its remote does not:
// changed and untracked files (ignored ones are not work), commits on no
// remote-tracking branch, and a stash.
func (g Git) LocalWork(ctx context.Context, dir string) (LocalWork, error) {
	var w LocalWork
	out, err := g.run(ctx, DefaultListTimeout, dir, "status", "--porcelain", "--untracked-files=normal")
	if err != nil {
		return w, err
	}
	for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		if strings.TrimSpace(line) != "" {
			w.Changes = append(w.Changes, strings.TrimSpace(line))
		}
	}
	if _, err := g.run(ctx, DefaultListTimeout, dir, "rev-parse", "-q", "--verify", "HEAD"); err == nil {
		out, err := g.run(ctx, DefaultListTimeout, dir, "rev-list", "--count", "HEAD", "--branches", "--not", "--remotes")
		if err != nil {
			return w, err
		}
		fmt.Sscan(strings.TrimSpace(string(out)), &w.Unpushed)
	}
	_, err = g.run(ctx, DefaultListTimeout, dir, "rev-parse", "-q", "--verify", "refs/stash")
	w.Stash = err == nil
	return w, nil
}
