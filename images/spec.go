package images

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/distribution/reference"

	"github.com/berthdev/berth/metadata"
	"github.com/berthdev/berth/metadata/component"
)

// Labels berth puts on every image it builds.
const (
	LabelImage     = "dev.berth.image"
	LabelComponent = "dev.berth.component"
	LabelInputs    = "dev.berth.inputs"
	LabelVersion   = "org.opencontainers.image.version"
)

// Spec is a manifest image resolved for one component version: where its
// context is, and its tag and build args with every variable expanded.
type Spec struct {
	Name      string // the manifest's image name, e.g. sse-runtime
	Component string
	// Version is the component's binding as .metadata writes it: v2.1.1 or branch:develop.
	Version    string
	Dir        string // the component directory
	Context    string // the absolute context directory
	Dockerfile string // relative to Context
	Tag        string
	Args       map[string]string
}

// Labels are the labels a build of s carries, given its inputs digest.
func (s *Spec) Labels(digest string) map[string]string {
	return map[string]string{
		LabelImage:     s.Name,
		LabelComponent: s.Component,
		LabelVersion:   s.Version,
		LabelInputs:    digest,
	}
}

// SpecFor resolves the manifest image name for the component version bound
// in .metadata. The install must be complete.
func SpecFor(env *metadata.Env, name string) (*Spec, error) {
	img, err := manifestImage(env, name)
	if err != nil {
		return nil, err
	}
	b, err := env.Binding(img.Component)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", name, err)
	}
	dir, err := env.ComponentDir(img.Component)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", name, err)
	}
	if err := component.CheckInstalled(env, img.Component); err != nil {
		return nil, fmt.Errorf("image %s: %w", name, err)
	}
	return resolve(env, name, img, b.String(), dir)
}

// SpecIn resolves the manifest image name for a component tree at dir that
// need not be bound yet (an install in progress), labelled with version.
func SpecIn(env *metadata.Env, name, version, dir string) (*Spec, error) {
	img, err := manifestImage(env, name)
	if err != nil {
		return nil, err
	}
	return resolve(env, name, img, version, dir)
}

func manifestImage(env *metadata.Env, name string) (*metadata.Image, error) {
	img := env.Manifest.Images[name]
	if img == nil {
		known := append([]string(nil), env.Manifest.ImageOrder...)
		if len(known) == 0 {
			return nil, fmt.Errorf("unknown image %q: %s declares no images", name, env.Manifest.Path)
		}
		return nil, fmt.Errorf("unknown image %q: %s declares %s", name, env.Manifest.Path, strings.Join(known, ", "))
	}
	return img, nil
}

// MissingVariableError means a tag or build arg uses a variable that
// config/.env does not define.
type MissingVariableError struct {
	Image, Var, Field string
}

func (e *MissingVariableError) Error() string {
	return fmt.Sprintf("%s is missing from config/.env: add %s=... there (image %s uses it in its %s)", e.Var, e.Var, e.Image, e.Field)
}

func resolve(env *metadata.Env, name string, img *metadata.Image, version, dir string) (*Spec, error) {
	vars, err := env.Vars("")
	if err != nil {
		return nil, err
	}
	// UID and GID are always the current user's, whatever config/.env or
	// berth's own environment say.
	own := map[string]string{
		"UID":           strconv.Itoa(os.Getuid()),
		"GID":           strconv.Itoa(os.Getgid()),
		"COMPONENT_DIR": dir,
	}
	expand := func(field, s string) (string, error) {
		out, err := metadata.Expand(s, func(k string) (string, bool) {
			if v, ok := own[k]; ok {
				return v, true
			}
			return vars(k)
		})
		// A variable with a default (${TAG:-dev}) is not missing.
		var ve *metadata.VarError
		if errors.As(err, &ve) && ve.Msg == "" {
			return "", &MissingVariableError{Image: name, Var: ve.Name, Field: field}
		}
		return out, err
	}
	s := &Spec{
		Name:       name,
		Component:  img.Component,
		Version:    version,
		Dir:        dir,
		Context:    filepath.Join(dir, img.Context),
		Dockerfile: img.Dockerfile,
		Args:       map[string]string{},
	}
	if s.Dockerfile == "" {
		s.Dockerfile = "Dockerfile"
	}
	if s.Tag, err = expand("tag", img.Tag); err != nil {
		return nil, err
	}
	if strings.TrimSpace(s.Tag) == "" {
		return nil, fmt.Errorf("image %s: its tag %q is empty: set the variable it uses in config/.env", name, img.Tag)
	}
	if _, err := reference.ParseNormalizedNamed(s.Tag); err != nil {
		return nil, fmt.Errorf("image %s: tag %q is not a valid image reference: %w: fix it in config/.env", name, s.Tag, err)
	}
	keys := make([]string, 0, len(img.Args))
	for k := range img.Args {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if s.Args[k], err = expand("build arg "+k, img.Args[k]); err != nil {
			return nil, err
		}
	}
	return s, nil
}
