package component

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/berthdev/berth/metadata"
)

// BuildImagesFunc builds the images of component (those its manifest marks
// build_on_install) from the installed tree in dir. Install calls it after
// the setup steps and before the binding is written; an error fails the
// install and leaves the previous binding in place.
type BuildImagesFunc func(ctx context.Context, env *metadata.Env, component, dir string) error

// Progress starts a long step (a fetch, a setup command) and returns the
// function that ends it. A nil Progress reports nothing.
type Progress func(component, step string) (done func(error))

// Options tune Install, InstallAll and Uninstall.
type Options struct {
	Git Git
	// SkipImageBuild skips BuildImages (--skip-sse-build).
	SkipImageBuild bool
	// BuildImages is the images package's builder; nil builds nothing and
	// the result says so (ImagesSkipped).
	BuildImages BuildImagesFunc
	Progress    Progress
	// Adopt takes a release directory berth did not make (one the OQTOPUS
	// CLI installed, say) as a complete install instead of refusing it.
	Adopt bool
}

func (o Options) step(component, what string) func(error) {
	if o.Progress == nil {
		return func(error) {}
	}
	return o.Progress(component, what)
}

// Result says what an install did.
type Result struct {
	Component string `json:"component"`
	// Binding is what .metadata now says: vX.Y.Z or branch:NAME.
	Binding string `json:"binding"`
	// Previous is the binding before, empty if there was none.
	Previous string `json:"previous,omitempty"`
	Dir      string `json:"dir"`
	Commit   string `json:"commit,omitempty"`
	// Reused: a complete release was already installed and was not fetched again.
	Reused bool `json:"reused"`
	// Foreign: the reused release is one berth did not make (the OQTOPUS
	// CLI's), taken as installed by the component's installed_when rule.
	Foreign bool `json:"foreign,omitempty"`
	// ImagesBuilt: BuildImages ran and succeeded. ImagesSkipped names the
	// build_on_install images not built (--skip-sse-build, or no builder).
	ImagesBuilt   bool     `json:"images_built"`
	ImagesSkipped []string `json:"images_skipped,omitempty"`
}

// lookupComponent returns the manifest's component or an error naming the
// ones there are.
func lookupComponent(env *metadata.Env, name string) (*metadata.Component, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	if c := env.Manifest.Components[name]; c != nil {
		return c, nil
	}
	if len(env.Manifest.ComponentOrder) == 0 {
		return nil, fmt.Errorf("unknown component %q: this environment's %s declares no components", name, metadata.ManifestFile)
	}
	return nil, fmt.Errorf("unknown component %q: use one of %s", name, strings.Join(env.Manifest.ComponentOrder, ", "))
}

// Install installs a component at target and binds it in .metadata. The
// binding is written last, only when fetch, setup and image build all
// succeeded; on any failure the previous binding stays as it was.
func Install(ctx context.Context, env *metadata.Env, component string, target Target, opts Options) (*Result, error) {
	c, err := lookupComponent(env, component)
	if err != nil {
		return nil, err
	}
	res := &Result{Component: component}
	if prev, err := env.Binding(component); err == nil {
		res.Previous = prev.String()
	}
	if target.Latest() {
		done := opts.step(component, "finding the latest version")
		v, err := Latest(ctx, opts.Git, component, c.Repo)
		done(err)
		if err != nil {
			return nil, err
		}
		target = Target{Version: v}
	}
	if target.Branch != "" {
		err = installBranch(ctx, env, component, c, target.Branch, opts, res)
	} else {
		err = installRelease(ctx, env, component, c, target.Version, opts, res)
	}
	if err != nil {
		return nil, err
	}
	if err := buildImages(ctx, env, component, opts, res); err != nil {
		return nil, err
	}
	res.Binding = target.String()
	err = env.UpdateMetadata(func(m *metadata.Metadata) error {
		m.Set(env.BindingKey(component), res.Binding)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s %s is installed in %s but could not be bound: %w", component, res.Binding, res.Dir, err)
	}
	return res, nil
}

func buildImages(ctx context.Context, env *metadata.Env, component string, opts Options, res *Result) error {
	var images []string
	for _, name := range env.Manifest.ImageOrder {
		if img := env.Manifest.Images[name]; img.Component == component && img.BuildOnInstall {
			images = append(images, name)
		}
	}
	if len(images) == 0 {
		return nil
	}
	if opts.SkipImageBuild || opts.BuildImages == nil {
		res.ImagesSkipped = images
		return nil
	}
	done := opts.step(component, "building image "+strings.Join(images, ", "))
	err := opts.BuildImages(ctx, env, component, res.Dir)
	done(err)
	if err != nil {
		return fmt.Errorf("%s is installed in %s, but building %s failed, so %s stays bound as before (pass --skip-sse-build to install without the image): %w",
			component, res.Dir, strings.Join(images, ", "), env.BindingKey(component), err)
	}
	res.ImagesBuilt = true
	return nil
}

// installRelease puts the release in <install_root>/<component>-<version>,
// or reuses a complete install there. The tree is fetched into a staging
// directory beside it and renamed into place; the setup steps then run in
// the final directory, because uv (and others) write absolute paths into
// what they make, so a tree set up elsewhere and moved would be broken.
// The marker keeps that window honest: until every step succeeded the
// directory is "incomplete", and the next install removes and redoes it.
// A lock per release keeps two environments from installing it at once.
func installRelease(ctx context.Context, env *metadata.Env, component string, c *metadata.Component, version string, opts Options, res *Result) error {
	root, err := env.InstallRoot()
	if err != nil {
		return err
	}
	if !filepath.IsAbs(root) {
		return fmt.Errorf("install_root %q in %s is not an absolute path: fix it there", root, env.Path(metadata.MetadataFile))
	}
	name := component + "-" + version
	dir := filepath.Join(root, name)
	res.Dir = dir
	lock, err := metadata.Lock(filepath.Join(root, ".locks", name+".lock"))
	if err != nil {
		return err
	}
	defer lock.Unlock()
	stagingPrefix := "." + name + ".staging-"
	removeStale(root, stagingPrefix)

	switch st, m := readMarker(releaseMarker(dir)); st {
	case stateComplete:
		res.Reused, res.Commit = true, m.Commit
		return nil
	case stateForeign:
		if ruleHolds(dir, c.InstalledWhen) {
			// The OQTOPUS CLI's install: it counts as installed by the
			// CLI's own rule, and berth uses it as it is.
			res.Reused, res.Foreign = true, true
			return nil
		}
		if opts.Adopt {
			res.Reused = true
			return Adopt(dir, component, version)
		}
		return fmt.Errorf("%s exists but is not a berth install (no complete %s marker): berth leaves it alone; pass --adopt to use it as it is (a release the OQTOPUS CLI installed), or move it away and install again", dir, markerName)
	case stateIncomplete:
		if err := removeDir(dir, root, stagingPrefix); err != nil {
			return fmt.Errorf("remove the unfinished install %s: %w", dir, err)
		}
	}

	staging, err := os.MkdirTemp(root, stagingPrefix)
	if err != nil {
		return fmt.Errorf("install %s %s: %w", component, version, err)
	}
	defer os.RemoveAll(staging) // gone once renamed; here for failures
	done := opts.step(component, "fetching "+version+" from "+c.Repo)
	commit, err := opts.Git.FetchTag(ctx, c.Repo, version, staging)
	done(err)
	if err != nil {
		return fmt.Errorf("fetch %s %s from %s: %w (run `berth versions %s` to see the versions there)", component, version, c.Repo, err, component)
	}
	res.Commit = commit
	mk := marker{State: "incomplete", Component: component, Version: version, Repo: c.Repo, Commit: commit}
	if err := writeMarker(releaseMarker(staging), mk); err != nil {
		return err
	}
	if err := os.Rename(staging, dir); err != nil {
		return fmt.Errorf("move %s %s into place at %s: %w", component, version, dir, err)
	}
	if err := setupChecked(ctx, env, component, c, dir, opts); err != nil {
		if se, ok := err.(*SetupError); ok {
			se.Then = "the install is left unfinished in " + dir + " and redone by the next install"
		}
		return err
	}
	mk.State = "complete"
	return writeMarker(releaseMarker(dir), mk)
}

// removeDir removes dir by first renaming it to a staging name in parent,
// so that a removal cut short never leaves something that looks installed;
// removeStale finishes such removals.
func removeDir(dir, parent, stagingPrefix string) error {
	if _, err := os.Lstat(dir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	trash, err := os.MkdirTemp(parent, stagingPrefix)
	if err != nil {
		return err
	}
	if err := os.Rename(dir, filepath.Join(trash, "old")); err != nil {
		os.Remove(trash)
		return err
	}
	return os.RemoveAll(trash)
}

// removeStale removes what an earlier, killed install or uninstall left
// under a staging name. The caller holds the lock those names belong to.
func removeStale(parent, prefix string) {
	matches, _ := filepath.Glob(filepath.Join(parent, globQuote(prefix)+"*"))
	for _, m := range matches {
		os.RemoveAll(m)
	}
}

func globQuote(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// outputTail keeps the last bytes a setup step printed, for its error.
type outputTail struct{ buf []byte }

const tailSize = 4 << 10

func (t *outputTail) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if len(t.buf) > tailSize {
		t.buf = t.buf[len(t.buf)-tailSize:]
	}
	return len(p), nil
}

// SetupError is a setup step that failed; Then says what became of the tree.
type SetupError struct {
	Step, Dir, Output, Then string
	Err                     error
}

func (e *SetupError) Error() string {
	msg := fmt.Sprintf("%s failed: %v", e.Step, e.Err)
	if e.Then != "" {
		msg += "; " + e.Then
	}
	if e.Output != "" {
		msg += "\n" + e.Output
	}
	return msg
}

func (e *SetupError) Unwrap() error { return e.Err }

// runSetup runs the component's setup steps in dir, in order. Their argv may
// use ${COMPONENT_DIR} (dir), ${ENV_ROOT} and config/.env variables.
func runSetup(ctx context.Context, env *metadata.Env, component string, c *metadata.Component, dir string, opts Options) error {
	vars, err := env.Vars("")
	if err != nil {
		return err
	}
	lookup := func(k string) (string, bool) {
		if k == "COMPONENT_DIR" {
			return dir, true
		}
		return vars(k)
	}
	for i, st := range c.Setup {
		argv := make([]string, len(st.Run))
		for j, a := range st.Run {
			if argv[j], err = metadata.Expand(a, lookup); err != nil {
				return fmt.Errorf("%s setup step %d: %w", component, i+1, err)
			}
		}
		workdir := dir
		if st.Dir != "" {
			workdir = filepath.Join(dir, filepath.FromSlash(st.Dir))
		}
		done := opts.step(component, "setup: "+strings.Join(argv, " "))
		out, err := runStep(ctx, env, argv, workdir, dir)
		done(err)
		if err != nil {
			msg := strings.TrimSpace(string(out))
			return &SetupError{Step: fmt.Sprintf("%s setup step %d (%s)", component, i+1, strings.Join(argv, " ")), Dir: dir, Output: msg, Err: err}
		}
	}
	return nil
}

func runStep(ctx context.Context, env *metadata.Env, argv []string, workdir, componentDir string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = workdir
	environ := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "VIRTUAL_ENV=") {
			environ = append(environ, kv)
		}
	}
	cmd.Env = append(environ, "COMPONENT_DIR="+componentDir, "ENV_ROOT="+env.Root)
	// Its own process group, ended whole on cancel, and killed with berth:
	// a setup step must not outlive the install that started it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	var tail outputTail
	cmd.Stdout, cmd.Stderr = &tail, &tail
	err := cmd.Run()
	return bytes.Clone(tail.buf), err
}

// InstallAll installs every component of the manifest, in manifest order,
// each at its own latest stable version. It stops at the first failure;
// what was installed before it stays bound.
func InstallAll(ctx context.Context, env *metadata.Env, opts Options) ([]*Result, error) {
	if len(env.Manifest.ComponentOrder) == 0 {
		return nil, fmt.Errorf("%s declares no components to install", env.Path(metadata.ManifestFile))
	}
	var results []*Result
	for _, name := range env.Manifest.ComponentOrder {
		r, err := Install(ctx, env, name, Target{}, opts)
		if err != nil {
			return results, err
		}
		results = append(results, r)
	}
	return results, nil
}

// UninstallResult says what Uninstall removed.
type UninstallResult struct {
	Component string `json:"component"`
	Target    string `json:"target"`
	Dir       string `json:"dir"`
	// StillBound: a release uninstall leaves the binding, which now names
	// a version that is not installed.
	StillBound bool `json:"still_bound"`
	// Unbound: a branch uninstall removed the binding.
	Unbound bool `json:"unbound"`
}

// Uninstall removes a release directory (keeping any binding to it, as the
// OQTOPUS CLI does; StillBound says so) or a branch install together with
// its binding. It removes only what berth installed.
// inUse, if not nil, names the running services that use a directory;
// Uninstall refuses to remove a tree one of them uses.
func Uninstall(ctx context.Context, env *metadata.Env, component string, target Target, inUse InUseFunc) (*UninstallResult, error) {
	if _, err := lookupComponent(env, component); err != nil {
		return nil, err
	}
	if target.Latest() {
		return nil, fmt.Errorf("say which version of %s to uninstall: vX.Y.Z or branch:NAME", component)
	}
	res := &UninstallResult{Component: component, Target: target.String()}
	bound, _ := env.Binding(component)
	if target.Branch != "" {
		return res, uninstallBranch(env, component, target.Branch, bound, res, inUse)
	}
	root, err := env.InstallRoot()
	if err != nil {
		return nil, err
	}
	name := component + "-" + target.Version
	dir := filepath.Join(root, name)
	res.Dir = dir
	lock, err := metadata.Lock(filepath.Join(root, ".locks", name+".lock"))
	if err != nil {
		return nil, err
	}
	defer lock.Unlock()
	switch st, _ := readMarker(releaseMarker(dir)); st {
	case stateAbsent:
		return nil, fmt.Errorf("%s %s is not installed (no %s): run `berth versions %s` to see what is", component, target.Version, dir, component)
	case stateForeign:
		if !ruleHolds(dir, ruleOf(env, component)) {
			return nil, fmt.Errorf("%s is not a berth install (no %s marker): berth leaves it alone; remove it by hand if you mean to", dir, markerName)
		}
		// The OQTOPUS CLI's release: its uninstall removes it, and so does berth's.
	}
	if err := checkNotInUse(inUse, component, target, dir); err != nil {
		return nil, err
	}
	if err := removeDir(dir, root, "."+name+".staging-"); err != nil {
		return nil, fmt.Errorf("remove %s: %w", dir, err)
	}
	res.StillBound = bound.Version == target.Version
	return res, nil
}

// InUseFunc names the running services of the environment that use dir.
type InUseFunc func(dir string) ([]string, error)

func checkNotInUse(inUse InUseFunc, component string, target Target, dir string) error {
	if inUse == nil {
		return nil
	}
	users, err := inUse(dir)
	if err != nil {
		return fmt.Errorf("%s %s is not removed: %w", component, target, err)
	}
	if len(users) > 0 {
		return fmt.Errorf("%s %s (%s) is in use by running service(s) %s: stop them first (berth stop %s), then uninstall",
			component, target, dir, strings.Join(users, ", "), strings.Join(users, " "))
	}
	return nil
}

// setupChecked runs the setup steps, then makes sure that what berth
// installed is one the OQTOPUS CLI accepts too: every installed_when path
// must exist afterwards.
func setupChecked(ctx context.Context, env *metadata.Env, component string, c *metadata.Component, dir string, opts Options) error {
	if err := runSetup(ctx, env, component, c, dir, opts); err != nil {
		return err
	}
	if missing := missingRule(dir, c.InstalledWhen); len(missing) > 0 {
		return fmt.Errorf("%s: the setup steps left no %s in %s (installed_when in %s names it; the OQTOPUS CLI needs it to call the install complete): the install is left unfinished and redone by the next install",
			component, strings.Join(missing, ", "), dir, metadata.ManifestFile)
	}
	return nil
}
