package images

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/docker/docker/api/types/image"

	"github.com/berthdev/berth/images/engine"
	"github.com/berthdev/berth/metadata"
)

// State of a manifest image against the component version bound now.
type State string

// States.
const (
	StateCurrent State = "current" // exists, built for this version from these inputs
	StateStale   State = "stale"   // exists, built for another version or other inputs
	StateMissing State = "missing" // no image has the tag
	// StateUnknown means the image could not be resolved (component not
	// installed, tag variable missing); Reason says why.
	StateUnknown State = "unknown"
)

// Status is one image's state.
type Status struct {
	Image     string `json:"image"`
	Component string `json:"component"`
	Tag       string `json:"tag,omitempty"`
	State     State  `json:"state"`
	// Version is the bound component version; BuiltVersion the image's label.
	Version      string `json:"version,omitempty"`
	BuiltVersion string `json:"built_version,omitempty"`
	ID           string `json:"id,omitempty"`
	Reason       string `json:"reason,omitempty"`
}

// stateOf inspects the spec's tag and compares its labels with the version
// and inputs digest.
func stateOf(ctx context.Context, c *engine.Client, spec *Spec, digest string) (*Status, error) {
	inspect, err := c.ImageInspect(ctx, spec.Tag)
	return stateFrom(c, spec, digest, inspect, err)
}

// stateFrom is stateOf with the tag inspected already (err is the inspection's).
func stateFrom(c *engine.Client, spec *Spec, digest string, inspect image.InspectResponse, err error) (*Status, error) {
	st := &Status{Image: spec.Name, Component: spec.Component, Tag: spec.Tag, Version: spec.Version}
	if isNotFound(err) {
		st.State, st.Reason = StateMissing, "no image tagged "+spec.Tag
		return st, nil
	}
	if err != nil {
		return nil, fmt.Errorf("image %s: inspect %s at %s: %w", spec.Name, spec.Tag, c.Endpoint, err)
	}
	st.ID = inspect.ID
	var labels map[string]string
	if inspect.Config != nil {
		labels = inspect.Config.Labels
	}
	st.BuiltVersion = labels[LabelVersion]
	switch {
	case labels[LabelInputs] == "":
		st.State, st.Reason = StateStale, "not built by berth (no "+LabelInputs+" label)"
	case st.BuiltVersion != spec.Version:
		st.State, st.Reason = StateStale, fmt.Sprintf("built for %s %s, bound version is %s", spec.Component, st.BuiltVersion, spec.Version)
	case labels[LabelInputs] != digest:
		st.State, st.Reason = StateStale, "build inputs changed (Dockerfile, context files or build args)"
	default:
		st.State = StateCurrent
	}
	return st, nil
}

// StatusOf tells the state of one resolved image.
func StatusOf(ctx context.Context, c *engine.Client, spec *Spec) (*Status, error) {
	bc, err := scanContext(spec.Context, spec.Dockerfile, spec.Args)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", spec.Name, err)
	}
	return stateOf(ctx, c, spec, bc.digest)
}

// Statuses tells the state of every manifest image, in manifest order. An
// image that cannot be resolved is StateUnknown with the reason; only a
// daemon error fails the whole call.
func Statuses(ctx context.Context, c *engine.Client, env *metadata.Env) ([]Status, error) {
	var out []Status
	for _, name := range env.Manifest.ImageOrder {
		img := env.Manifest.Images[name]
		unknown := func(err error) {
			out = append(out, Status{Image: name, Component: img.Component, State: StateUnknown, Reason: err.Error()})
		}
		spec, err := SpecFor(env, name)
		if err != nil {
			unknown(err)
			continue
		}
		bc, err := scanContext(spec.Context, spec.Dockerfile, spec.Args)
		if err != nil {
			unknown(err)
			continue
		}
		st, err := stateOf(ctx, c, spec, bc.digest)
		if err != nil {
			return nil, err
		}
		out = append(out, *st)
	}
	return out, nil
}

// BuildForComponent builds every image of the manifest marked
// build_on_install for component from the tree at dir (which may be a
// release just installed and not yet bound), labelled with version. It is
// what `berth install` calls after the setup steps.
func BuildForComponent(ctx context.Context, c *engine.Client, env *metadata.Env, component, version, dir string, opts BuildOptions) ([]*Result, error) {
	var results []*Result
	for _, name := range env.Manifest.ImageOrder {
		img := env.Manifest.Images[name]
		if img.Component != component || !img.BuildOnInstall {
			continue
		}
		spec, err := SpecIn(env, name, version, dir)
		if err != nil {
			return results, err
		}
		res, err := Build(ctx, c, spec, opts)
		if err != nil {
			return results, err
		}
		results = append(results, res)
	}
	return results, nil
}

// NeedsBuildOnInstall says whether installing component builds any image.
func NeedsBuildOnInstall(m *metadata.Manifest, component string) bool {
	for _, name := range m.ImageOrder {
		if img := m.Images[name]; img.Component == component && img.BuildOnInstall {
			return true
		}
	}
	return false
}

// InstallHook is the hook `berth install` runs after a component's setup
// steps: it connects to the daemon only when the component has an image to
// build, and reports progress on out. The version label comes from the
// directory: <install_root>/<component>-<version> for a release, the
// checked-out branch for a branch install.
func InstallHook(out io.Writer, opts BuildOptions) func(ctx context.Context, env *metadata.Env, component, dir string) error {
	return func(ctx context.Context, env *metadata.Env, component, dir string) error {
		if !NeedsBuildOnInstall(env.Manifest, component) {
			return nil
		}
		c, err := engine.NewClient(ctx, engine.Endpoint{})
		if err != nil {
			return fmt.Errorf("installing %s builds its image, which needs Docker: %w (or pass --skip-sse-build)", component, err)
		}
		defer c.Close()
		o := opts
		if o.Out == nil {
			o.Out = out
		}
		results, err := BuildForComponent(ctx, c, env, component, VersionFromDir(env, component, dir), dir, o)
		for _, r := range results {
			if r.Skipped {
				fmt.Fprintf(out, "image %s (%s) is up to date\n", r.Image, r.Tag)
			} else {
				fmt.Fprintf(out, "built image %s (%s) %s\n", r.Image, r.Tag, shortID(r.ID))
			}
		}
		return err
	}
}

// VersionFromDir is the version a component tree at dir stands for.
func VersionFromDir(env *metadata.Env, component, dir string) string {
	root, rerr := env.InstallRoot()
	if v, ok := strings.CutPrefix(filepath.Base(dir), component+"-"); ok && rerr == nil && filepath.Dir(filepath.Clean(dir)) == filepath.Clean(root) {
		return v
	}
	if head, err := os.ReadFile(filepath.Join(dir, ".git", "HEAD")); err == nil {
		if ref, ok := strings.CutPrefix(strings.TrimSpace(string(head)), "ref: refs/heads/"); ok {
			return metadata.BranchPrefix + ref
		}
	}
	if b, err := env.Binding(component); err == nil {
		return b.String()
	}
	return "unknown"
}

func shortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		id = id[:12]
	}
	return id
}
