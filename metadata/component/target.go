// Package component owns component versions and installs: the stable vX.Y.Z
// tags of a component's git remote, release installs shared by every
// environment under install_root, branch installs inside one environment,
// and the .metadata binding that says which one an environment uses.
package component

import (
	"fmt"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/berthdev/berth/metadata"
)

// Stable is a stable release version, vX.Y.Z: the only version form berth
// installs or lists. The tag itself must read so (numbers without leading
// zeros), so v2.0, 2.0.0 and v2.0.0-rc.1 are all refused: that form is
// checked first, by hand, since semver alone also takes pre-releases and
// build metadata; Masterminds/semver (the design card's library) then
// parses and orders it.
type Stable struct{ v *semver.Version }

// Compare orders versions: negative when v is older than w.
func (v Stable) Compare(w Stable) int { return v.v.Compare(w.v) }

func (v Stable) String() string {
	if v.v == nil {
		return ""
	}
	return "v" + v.v.String()
}

// ParseStable parses a stable vX.Y.Z version.
func ParseStable(s string) (Stable, error) {
	rest, ok := strings.CutPrefix(s, "v")
	parts := strings.Split(rest, ".")
	if !ok || len(parts) != 3 {
		return Stable{}, fmt.Errorf("invalid version %q: use a stable release tag such as v1.2.3, or branch:NAME", printable(s))
	}
	for _, p := range parts {
		if p == "" || (len(p) > 1 && p[0] == '0') || strings.TrimLeft(p, "0123456789") != "" {
			return Stable{}, fmt.Errorf("invalid version %q: use a stable release tag such as v1.2.3, or branch:NAME", printable(s))
		}
	}
	v, err := semver.StrictNewVersion(rest)
	if err != nil {
		return Stable{}, fmt.Errorf("invalid version %q: %w", printable(s), err)
	}
	return Stable{v}, nil
}

// Target is what to install: a release, a branch, or (both empty) the
// latest stable release.
type Target struct {
	Version string
	Branch  string
}

// Latest reports whether the target is "the newest stable tag".
func (t Target) Latest() bool { return t.Version == "" && t.Branch == "" }

func (t Target) String() string {
	switch {
	case t.Branch != "":
		return metadata.BranchPrefix + t.Branch
	case t.Version != "":
		return t.Version
	}
	return "latest"
}

// ParseTarget reads the version argument of install and uninstall:
// vX.Y.Z or branch:NAME. An empty argument is the latest release.
func ParseTarget(arg string) (Target, error) {
	if arg == "" {
		return Target{}, nil
	}
	if br, ok := strings.CutPrefix(arg, metadata.BranchPrefix); ok {
		if err := ValidateBranch(br); err != nil {
			return Target{}, err
		}
		return Target{Branch: br}, nil
	}
	if _, err := ParseStable(arg); err != nil {
		return Target{}, err
	}
	return Target{Version: arg}, nil
}

// ValidateBranch accepts the branch names git accepts (git check-ref-format
// --branch) minus the ones that could be read as an option or as a path
// outside the repository. A '/' is fine: feature/x is a common branch name,
// and a branch install's directory is named after the component, not the branch.
func ValidateBranch(b string) error {
	bad := func(why string) error {
		return fmt.Errorf("invalid branch name %q: %s", printable(b), why)
	}
	switch {
	case b == "":
		return bad("it is empty (write branch:NAME)")
	case strings.HasPrefix(b, "-"):
		return bad("it starts with '-', which git would read as an option")
	case strings.Contains(b, ".."):
		return bad("it contains '..'")
	case strings.HasPrefix(b, "/") || strings.HasSuffix(b, "/") || strings.Contains(b, "//"):
		return bad("it starts or ends with '/' or has an empty part")
	case strings.HasSuffix(b, ".") || strings.HasSuffix(b, ".lock"):
		return bad("it ends with '.' or '.lock'")
	case strings.Contains(b, "@{") || b == "@":
		return bad("it contains '@{'")
	case b == "HEAD":
		return bad("HEAD is not a branch")
	}
	for _, part := range strings.Split(b, "/") {
		if strings.HasPrefix(part, ".") {
			return bad("a part starts with '.'")
		}
	}
	for _, r := range b {
		if r < 0x20 || r == 0x7f || strings.ContainsRune(" ~^:?*[\\", r) {
			return bad(fmt.Sprintf("it contains %q, which git does not allow in branch names", r))
		}
	}
	return nil
}

// ValidateName checks a component name given on the command line before it
// becomes part of a path.
func ValidateName(name string) error {
	if !metadata.ValidName(name) || strings.Contains(name, "..") {
		return fmt.Errorf("invalid component name %q: use lower-case letters, digits, '_', '.' and '-'", printable(name))
	}
	return nil
}

func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}
