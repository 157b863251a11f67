package component

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/berthdev/berth/metadata"
)

// The install marker says that a directory is berth's and whether its
// install finished. It is written "incomplete" before the directory gets its
// final name and rewritten "complete" (atomically) only after every setup
// step succeeded, so a directory cut off half-way (SIGKILL, full disk, a
// failed step) never counts as installed and is redone by the next install.
// Release installs keep it at the top of the tree; branch installs keep it in
// .git, where it does not show up in `git status`.
const markerName = ".berth-install"

type installState int

const (
	stateAbsent     installState = iota // nothing at the path
	stateForeign                        // something berth did not make
	stateIncomplete                     // berth's, cut off before it finished
	stateComplete                       // berth's, finished
)

func releaseMarker(dir string) string { return filepath.Join(dir, markerName) }
func branchMarker(dir string) string  { return filepath.Join(dir, ".git", "berth-install") }

// marker is the marker's content.
type marker struct {
	State     string
	Component string
	Version   string
	Branch    string
	Repo      string
	Commit    string
}

// readMarker classifies the directory holding the marker at path.
func readMarker(path string) (installState, marker) {
	dir := filepath.Dir(path)
	if filepath.Base(dir) == ".git" {
		dir = filepath.Dir(dir)
	}
	fi, err := os.Lstat(dir)
	if errors.Is(err, os.ErrNotExist) {
		return stateAbsent, marker{}
	}
	if err != nil || !fi.IsDir() {
		return stateForeign, marker{}
	}
	meta, err := metadata.ReadMetadata(path)
	if err != nil {
		return stateForeign, marker{}
	}
	get := func(k string) string { v, _ := meta.Get(k); return v }
	m := marker{State: get("state"), Component: get("component"), Version: get("version"),
		Branch: get("branch"), Repo: get("repo"), Commit: get("commit")}
	switch m.State {
	case "complete":
		return stateComplete, m
	case "incomplete":
		return stateIncomplete, m
	}
	return stateForeign, m
}

func writeMarker(path string, m marker) error {
	meta := &metadata.Metadata{}
	meta.Set("state", m.State)
	meta.Set("component", m.Component)
	if m.Version != "" {
		meta.Set("version", m.Version)
	}
	if m.Branch != "" {
		meta.Set("branch", m.Branch)
	}
	meta.Set("repo", m.Repo)
	meta.Set("commit", m.Commit)
	meta.Set("written_at", time.Now().UTC().Format(time.RFC3339))
	if err := metadata.WriteFileAtomic(path, meta.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write install marker: %w", err)
	}
	return nil
}

// IsInstalled reports whether dir (a release directory, or a branch install
// when branch is true) holds a complete berth install. start should refuse a
// component directory for which it is false.
func IsInstalled(dir string, branch bool) bool {
	return isInstalled(dir, branch, nil)
}

// isInstalled is IsInstalled that also takes a tree berth did not make (the
// OQTOPUS CLI's release or branch install, which has no .git) as installed
// when every path of the component's installed_when rule exists in it. An
// install berth itself left unfinished never counts.
func isInstalled(dir string, branch bool, rule []string) bool {
	p := releaseMarker(dir)
	if branch {
		p = branchMarker(dir)
	}
	switch st, _ := readMarker(p); st {
	case stateComplete:
		return true
	case stateForeign:
		return ruleHolds(dir, rule)
	}
	return false
}

// ruleHolds says whether dir is a real directory holding every path of rule
// ("." is the directory itself). An empty rule never holds.
func ruleHolds(dir string, rule []string) bool {
	if len(rule) == 0 {
		return false
	}
	if fi, err := os.Lstat(dir); err != nil || !fi.IsDir() {
		return false
	}
	for _, p := range rule {
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(p))); err != nil {
			return false
		}
	}
	return true
}

// missingRule lists the paths of rule that dir lacks.
func missingRule(dir string, rule []string) []string {
	var out []string
	for _, p := range rule {
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(p))); err != nil {
			out = append(out, p)
		}
	}
	return out
}

func ruleOf(env *metadata.Env, component string) []string {
	if env.Manifest == nil {
		return nil
	}
	if c := env.Manifest.Components[component]; c != nil {
		return c.InstalledWhen
	}
	return nil
}

// CheckInstalled says why the version of component bound in env cannot be
// used: not bound, or its directory is neither a complete berth install nor
// a tree that passes the component's installed_when rule (an interrupted
// install, or one berth did not make).
func CheckInstalled(env *metadata.Env, component string) error {
	b, err := env.Binding(component)
	if err != nil {
		return err
	}
	dir, err := env.ComponentDir(component)
	if err != nil {
		return err
	}
	if !isInstalled(dir, b.Branch != "", ruleOf(env, component)) {
		return fmt.Errorf("%s %s is not completely installed in %s: run `berth install %s %s`", component, b, dir, component, b)
	}
	return nil
}

// Adopt marks a tree that berth did not install (a release the OQTOPUS CLI
// made, or one prepared by hand) as a complete install of component at
// version, so that start and build accept it. It refuses a directory that
// already carries an incomplete berth install.
func Adopt(dir, component, version string) error {
	st, _ := readMarker(releaseMarker(dir))
	switch st {
	case stateComplete:
		return nil
	case stateIncomplete:
		return fmt.Errorf("%s holds an unfinished install: run `berth install %s %s` to redo it", dir, component, version)
	case stateAbsent:
		return fmt.Errorf("%s does not exist", dir)
	}
	if fi, err := os.Lstat(dir); err != nil || !fi.Mode().IsDir() {
		return fmt.Errorf("%s is not a directory (a symbolic link or a file): berth adopts only a real release directory", dir)
	}
	return writeMarker(releaseMarker(dir), marker{State: "complete", Component: component, Version: version, Repo: "adopted"})
}
