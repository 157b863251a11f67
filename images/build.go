// Package images owns berth's runtime images: build contexts, builds through
// the classic builder or BuildKit, the labels that make builds reproducible
// to check, and the current/stale/missing state of each manifest image. It
// reaches the daemon through images/engine.
package images

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/pkg/jsonmessage"

	"github.com/berthdev/berth/images/engine"
)

// Builder chooses the daemon's builder.
type Builder string

// Builders. Auto uses BuildKit wherever the daemon has it, and the classic
// builder otherwise (a Dockerfile that needs BuildKit then fails clearly).
const (
	BuilderAuto     Builder = ""
	BuilderClassic  Builder = "classic"
	BuilderBuildKit Builder = "buildkit"
)

// ParseBuilder reads a --builder value.
func ParseBuilder(s string) (Builder, error) {
	switch Builder(s) {
	case BuilderAuto, "auto":
		return BuilderAuto, nil
	case BuilderClassic, BuilderBuildKit:
		return Builder(s), nil
	}
	return "", fmt.Errorf("unknown builder %q: use auto, classic or buildkit", s)
}

// BuildOptions say how to build.
type BuildOptions struct {
	// Force builds even when the image is current.
	Force bool
	// NoCache builds without the daemon's layer cache; it implies Force.
	NoCache bool
	Builder Builder
	// Out receives the build's progress; nil discards it.
	Out io.Writer
	// Terminal says Out is the terminal with file descriptor TerminalFd, so
	// progress may be redrawn in place.
	Terminal   bool
	TerminalFd uintptr
}

// Result is what a build did.
type Result struct {
	Image   string  `json:"image"`
	Tag     string  `json:"tag"`
	ID      string  `json:"id"`
	Version string  `json:"version"`
	Inputs  string  `json:"inputs"`
	Builder Builder `json:"builder,omitempty"`
	// Skipped means the image was current and nothing was built.
	Skipped  bool          `json:"skipped"`
	Duration time.Duration `json:"duration_ns"`
	// Pushed is the registry digest reference when the manifest image names
	// a registry and berth build pushed it there.
	Pushed string `json:"pushed,omitempty"`
}

// BuildError is a build the daemon ran and that failed: the failing step,
// the daemon's message and the step's last output lines.
type BuildError struct {
	Image, Tag string
	Step       string
	Message    string
	Output     string
}

func (e *BuildError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "build of image %s (%s) failed", e.Image, e.Tag)
	if e.Step != "" {
		fmt.Fprintf(&b, " at step %q", e.Step)
	}
	fmt.Fprintf(&b, ": %s", e.Message)
	if out := lastLines(e.Output, 10); out != "" {
		fmt.Fprintf(&b, "\nstep output:\n%s", out)
	}
	return b.String()
}

// BuildKitUnavailableError means the Dockerfile needs BuildKit and the
// daemon has none.
type BuildKitUnavailableError struct {
	Image, Endpoint, APIVersion, OSType, Line string
}

func (e *BuildKitUnavailableError) Error() string {
	why := "the Dockerfile needs BuildKit"
	if e.Line != "" {
		why = fmt.Sprintf("the Dockerfile needs BuildKit (%s)", e.Line)
	}
	return fmt.Sprintf("image %s: %s, but the daemon at %s (API %s, %s) has no BuildKit: use Docker 18.09 or later on Linux, or remove the BuildKit-only syntax", e.Image, why, e.Endpoint, e.APIVersion, e.OSType)
}

// chooseBuilder picks the builder for a Dockerfile.
func chooseBuilder(c *engine.Client, name string, want Builder, dockerfile []byte) (Builder, error) {
	needs, line := needsBuildKit(dockerfile)
	unavailable := &BuildKitUnavailableError{Image: name, Endpoint: c.Endpoint, APIVersion: c.ClientVersion(), OSType: c.Ping.OSType, Line: line}
	switch want {
	case BuilderClassic:
		if needs {
			return "", fmt.Errorf("image %s: the Dockerfile needs BuildKit (%s), so the classic builder cannot build it: use --builder buildkit or auto", name, line)
		}
		return BuilderClassic, nil
	case BuilderBuildKit:
		if !c.HasBuildKit() {
			return "", unavailable
		}
		return BuilderBuildKit, nil
	}
	if needs {
		if !c.HasBuildKit() {
			return "", unavailable
		}
		return BuilderBuildKit, nil
	}
	// BuildKit even where the daemon's default is classic (20.10's is): the
	// classic builder commits a container for every label berth adds, which
	// costs seconds per build on slow storage drivers.
	if c.HasBuildKit() {
		return BuilderBuildKit, nil
	}
	return BuilderClassic, nil
}

// Build builds spec unless its image is current (same version, same inputs).
func Build(ctx context.Context, c *engine.Client, spec *Spec, opts BuildOptions) (*Result, error) {
	return BuildWith(ctx, func() (*engine.Client, error) { return c, nil }, spec, opts)
}

// inspected is the daemon and what it says of a tag, asked for while the
// context is scanned.
type inspected struct {
	c          *engine.Client
	err        error
	inspect    image.InspectResponse
	inspectErr error
}

// BuildWith is Build with the daemon reached through connect, which may
// still be connecting: the connection and the inspection of the tag go on
// while the context is scanned (an up-to-date build waited for each in
// turn: ping 1.1 ms, inspect 1.7 ms, scan 3-4 ms on a 1,000-file context).
func BuildWith(ctx context.Context, connect func() (*engine.Client, error), spec *Spec, opts BuildOptions) (*Result, error) {
	start := time.Now()
	check := !opts.Force && !opts.NoCache
	bc, d, err := scanAndInspect(ctx, connect, spec)
	if err != nil {
		return nil, err
	}
	c := d.c
	res := &Result{Image: spec.Name, Tag: spec.Tag, Version: spec.Version, Inputs: bc.digest}
	if check {
		st, err := stateFrom(c, spec, bc.digest, d.inspect, d.inspectErr)
		if err != nil {
			return nil, err
		}
		if st.State == StateCurrent {
			res.ID, res.Skipped, res.Duration = st.ID, true, time.Since(start)
			return res, nil
		}
	}
	if res.Builder, err = chooseBuilder(c, spec.Name, opts.Builder, bc.dockerText); err != nil {
		return nil, err
	}
	out := opts.Out
	if out == nil {
		out = io.Discard
	}
	tarStream, err := bc.tar()
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", spec.Name, err)
	}
	defer tarStream.Close()

	args := make(map[string]*string, len(spec.Args))
	for k, v := range spec.Args {
		args[k] = &v
	}
	bopts := build.ImageBuildOptions{
		Tags:        []string{spec.Tag},
		Dockerfile:  bc.dockerfile,
		BuildArgs:   args,
		Labels:      spec.Labels(bc.digest),
		NoCache:     opts.NoCache,
		Remove:      true,
		ForceRemove: true,
		Version:     build.BuilderV1,
	}
	if res.Builder == BuilderBuildKit {
		bopts.Version = build.BuilderBuildKit
	}
	previous := replaceable(d.inspect, d.inspectErr)
	up := newUpload(tarStream, out, opts.Terminal)
	defer up.close()
	resp, err := c.ImageBuild(ctx, up, bopts)
	if err != nil {
		if strings.Contains(strings.ToLower(err.Error()), "buildkit") && res.Builder == BuilderBuildKit {
			return nil, fmt.Errorf("image %s: the daemon at %s refused a BuildKit build: %w", spec.Name, c.Endpoint, err)
		}
		return nil, fmt.Errorf("image %s: build through %s: %w", spec.Name, c.Endpoint, err)
	}
	defer resp.Body.Close()
	id, err := readBuildStream(resp.Body, out, opts, spec)
	if err != nil {
		return nil, err
	}
	if id == "" {
		// Older daemons give no aux ID on every path: ask for the tag.
		inspect, err := c.ImageInspect(ctx, spec.Tag)
		if err != nil {
			return nil, fmt.Errorf("image %s: built, but %s cannot be inspected: %w", spec.Name, spec.Tag, err)
		}
		id = inspect.ID
	}
	res.ID, res.Duration = id, time.Since(start)
	if previous != "" && previous != id {
		// The build moved the tag: the image it leaves behind is berth's and
		// nameless now, so remove it rather than pile up dangling images. An
		// image a container still uses stays (the daemon refuses).
		c.ImageRemove(ctx, previous, image.RemoveOptions{PruneChildren: true})
	}
	return res, nil
}

// scanAndInspect scans spec's context while connect connects and the
// daemon is asked for the tag (whether it is current, or what a rebuild
// replaces). A connection error comes first, as when berth connected
// before scanning.
func scanAndInspect(ctx context.Context, connect func() (*engine.Client, error), spec *Spec) (*buildContext, inspected, error) {
	daemon := make(chan inspected, 1)
	go func() {
		var r inspected
		if r.c, r.err = connect(); r.err == nil {
			r.inspect, r.inspectErr = r.c.ImageInspect(ctx, spec.Tag)
		}
		daemon <- r
	}()
	bc, err := scanContext(spec.Context, spec.Dockerfile, spec.Args)
	d := <-daemon
	if d.err != nil {
		return nil, d, d.err
	}
	if err != nil {
		return nil, d, fmt.Errorf("image %s: %w", spec.Name, err)
	}
	return bc, d, nil
}

// replaceable is the ID of the image the tag named before the build (insp,
// the inspection of the tag made while the context was scanned), if berth
// built it and that tag is its only name, so that a rebuild may remove it
// afterwards.
func replaceable(insp image.InspectResponse, err error) string {
	if err != nil || insp.Config == nil || insp.Config.Labels[LabelImage] == "" || len(insp.RepoTags) != 1 {
		return ""
	}
	return insp.ID
}

// readBuildStream reads the whole build response (a failed build is an
// errorDetail message in it, not an error from ImageBuild), shows the
// progress on out and returns the image ID.
func readBuildStream(body io.Reader, out io.Writer, opts BuildOptions, spec *Spec) (string, error) {
	dec := json.NewDecoder(body)
	bk := newBKPrinter(out)
	bk.noCache = opts.NoCache
	classic := newClassicSteps(out, opts.Terminal)
	defer classic.end()
	var id, step string
	var stepOut strings.Builder
	for {
		var m jsonmessage.JSONMessage
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return "", fmt.Errorf("image %s: reading the build's output: %w", spec.Name, err)
		}
		if m.Error != nil || m.ErrorMessage != "" {
			msg := m.ErrorMessage
			if m.Error != nil && m.Error.Message != "" {
				msg = m.Error.Message
			}
			be := &BuildError{Image: spec.Name, Tag: spec.Tag, Step: step, Message: msg, Output: stepOut.String()}
			if s, o := bk.failure(); s != "" {
				be.Step, be.Output = s, o
			}
			if strings.Contains(msg, "requires BuildKit") {
				be.Message += " (build with --builder buildkit)"
			}
			return "", be
		}
		if m.Aux != nil {
			switch m.ID {
			case "moby.buildkit.trace":
				st, err := decodeTrace(*m.Aux)
				if err != nil {
					return "", fmt.Errorf("image %s: %w", spec.Name, err)
				}
				bk.handle(st)
			default:
				var aux struct{ ID string }
				if json.Unmarshal(*m.Aux, &aux) == nil && aux.ID != "" {
					id = aux.ID
				}
			}
			continue
		}
		if strings.HasPrefix(m.Stream, "Step ") {
			if _, s, ok := strings.Cut(strings.TrimSpace(m.Stream), " : "); ok {
				step = s
			}
			stepOut.Reset()
		} else if m.Stream != "" && !strings.HasPrefix(m.Stream, " ---> ") {
			stepOut.WriteString(m.Stream)
		}
		if err := classic.write(m.Stream, func() error { return m.Display(out, opts.Terminal) }); err != nil {
			return "", fmt.Errorf("image %s: %w", spec.Name, err)
		}
	}
	return id, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

// isNotFound is the daemon saying an image does not exist; any other error
// is an error, not "absent".
func isNotFound(err error) bool { return cerrdefs.IsNotFound(err) }
