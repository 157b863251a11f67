package component

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/berthdev/berth/metadata"
)

// StableTags keeps the stable vX.Y.Z tags, newest first; pre-releases and
// other tags are dropped.
func StableTags(tags []string) []string {
	type tv struct {
		tag string
		v   Stable
	}
	var vs []tv
	seen := map[string]bool{}
	for _, t := range tags {
		if seen[t] {
			continue
		}
		seen[t] = true
		if v, err := ParseStable(t); err == nil {
			vs = append(vs, tv{t, v})
		}
	}
	sort.Slice(vs, func(i, j int) bool { return vs[i].v.Compare(vs[j].v) > 0 })
	out := make([]string, len(vs))
	for i, x := range vs {
		out[i] = x.tag
	}
	return out
}

// Latest is the newest stable tag of repo.
func Latest(ctx context.Context, git Git, component, repo string) (string, error) {
	tags, err := git.Tags(ctx, repo)
	if err != nil {
		return "", fmt.Errorf("list the versions of %s (%s): %w", component, repo, err)
	}
	stable := StableTags(tags)
	if len(stable) == 0 {
		return "", fmt.Errorf("%s has no stable vX.Y.Z tag in %s: install a branch with branch:NAME", component, repo)
	}
	return stable[0], nil
}

// Version is one line of `berth versions`.
type Version struct {
	// Version is vX.Y.Z or branch:NAME.
	Version string `json:"version"`
	// Selected: .metadata binds this environment to it.
	Selected bool `json:"selected"`
	// Installed: a complete install is on disk.
	Installed bool `json:"installed"`
	// InRemote: the remote has the tag; false for branches and, when the
	// remote could not be read, for everything.
	InRemote bool `json:"in_remote"`
}

// Listing is what `berth versions` shows for one component.
type Listing struct {
	Component string    `json:"component"`
	Repo      string    `json:"repo"`
	Versions  []Version `json:"versions"`
	// RemoteErr is why the remote tags could not be read; the listing then
	// holds only what is installed.
	RemoteErr error `json:"-"`
}

// ListVersions lists the stable versions of a component's remote and, with
// env (nil outside an environment), what is installed and bound. If the
// remote cannot be read, the local part is returned with RemoteErr set.
func ListVersions(ctx context.Context, git Git, env *metadata.Env, component, repo string) *Listing {
	l := &Listing{Component: component, Repo: repo, Versions: []Version{}}
	tags, err := git.Tags(ctx, repo)
	if err != nil {
		l.RemoteErr = fmt.Errorf("cannot read the versions of %s from %s: %w", component, repo, err)
	}
	remote := map[string]bool{}
	for _, t := range StableTags(tags) {
		remote[t] = true
	}
	if err == nil && len(remote) == 0 {
		// As the OQTOPUS CLI: a remote without a stable tag is an error, not
		// an empty list.
		l.RemoteErr = fmt.Errorf("no stable versions were found for %s in %s (no vX.Y.Z tag among its %d tag(s)): install a branch with `berth install %s branch:NAME`", component, repo, len(tags), component)
	}
	var bound metadata.Binding
	installed := map[string]bool{}
	var branches []string
	if env != nil {
		bound, _ = env.Binding(component)
		if root, err := env.InstallRoot(); err == nil {
			for _, v := range installedReleases(root, component, ruleOf(env, component)) {
				installed[v] = true
			}
		}
		if st, m := readMarker(branchMarker(env.BranchDir(component))); st == stateComplete && m.Branch != "" {
			branches = append(branches, m.Branch)
			installed[metadata.BranchPrefix+m.Branch] = true
		} else if bound.Branch != "" && st == stateForeign && ruleHolds(env.BranchDir(component), ruleOf(env, component)) {
			// The OQTOPUS CLI's branch install: a downloaded tree, no .git.
			installed[metadata.BranchPrefix+bound.Branch] = true
		}
		if bound.Branch != "" && (len(branches) == 0 || branches[0] != bound.Branch) {
			branches = append([]string{bound.Branch}, branches...)
		}
	}
	for _, b := range branches {
		name := metadata.BranchPrefix + b
		l.Versions = append(l.Versions, Version{Version: name, Selected: bound.Branch == b, Installed: installed[name]})
	}
	all := make([]string, 0, len(remote)+len(installed))
	for t := range remote {
		all = append(all, t)
	}
	for v := range installed {
		if !remote[v] && !strings.HasPrefix(v, metadata.BranchPrefix) {
			all = append(all, v)
		}
	}
	if bound.Version != "" && !remote[bound.Version] && !installed[bound.Version] {
		all = append(all, bound.Version)
	}
	for _, v := range StableTags(all) {
		l.Versions = append(l.Versions, Version{Version: v, Selected: bound.Version == v, Installed: installed[v], InRemote: remote[v]})
	}
	return l
}

// installedReleases are the versions of component with a complete install
// under root.
func installedReleases(root, component string, rule []string) []string {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		v, ok := strings.CutPrefix(e.Name(), component+"-")
		if !ok || !e.IsDir() || !isStable(v) {
			continue
		}
		if isInstalled(filepath.Join(root, e.Name()), false, rule) {
			out = append(out, v)
		}
	}
	return out
}

// Format writes the listing as the seed's lines, which other programs parse:
//
//	engine:
//	* branch:develop (installed)
//	  v2.0.3 (installed)
//	  v2.0.2
//	  v0.9.0 (installed, not in remote tags)
func (l *Listing) Format() string {
	var b strings.Builder
	b.WriteString(l.Component + ":\n")
	for _, v := range l.Versions {
		mark := "  "
		if v.Selected {
			mark = "* "
		}
		var notes []string
		if v.Installed {
			notes = append(notes, "installed")
		}
		if l.RemoteErr == nil && !v.InRemote && !strings.HasPrefix(v.Version, metadata.BranchPrefix) {
			notes = append(notes, "not in remote tags")
		}
		b.WriteString(mark + v.Version)
		if len(notes) > 0 {
			b.WriteString(" (" + strings.Join(notes, ", ") + ")")
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// InstalledVersions are what uninstall can remove for component: its
// complete release installs under install_root, newest first, and this
// environment's branch install as branch:NAME. It reads only the disk.
func InstalledVersions(env *metadata.Env, component string) []string {
	var out []string
	st, m := readMarker(branchMarker(env.BranchDir(component)))
	if st == stateComplete && m.Branch != "" {
		out = append(out, metadata.BranchPrefix+m.Branch)
	} else if b, err := env.Binding(component); err == nil && b.Branch != "" && st == stateForeign && ruleHolds(env.BranchDir(component), ruleOf(env, component)) {
		out = append(out, b.String()) // the OQTOPUS CLI's branch download
	}
	if root, err := env.InstallRoot(); err == nil {
		out = append(out, StableTags(installedReleases(root, component, ruleOf(env, component)))...)
	}
	return out
}

func isStable(s string) bool {
	_, err := ParseStable(s)
	return err == nil
}
