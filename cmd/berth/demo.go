package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/berthdev/berth/images/engine"
	"github.com/berthdev/berth/metadata"
	"github.com/berthdev/berth/runtime"
	"github.com/berthdev/berth/runtime/health"
	"github.com/berthdev/berth/runtime/logs"
)

type demoOptions struct {
	dir  string
	keep bool
}

func newDemoCommand(g *globalOptions) *cobra.Command {
	opts := &demoOptions{}
	c := &cobra.Command{
		Use:   "demo [--dir DIR] [--keep]",
		Short: "Run berth's main job on an embedded demo environment, offline",
		Long: `Create an environment from the embedded demo template, make local git
repositories for its components, list versions, install a release and a branch,
build the demo image through the Docker Engine API (skipped, with the reason,
when no daemon answers), start the services with their health checks, show
status, health and logs, and stop everything again.

The demo runs in a temporary directory that is removed at the end, or in
--dir DIR (which must be empty or absent, and is kept). --keep leaves the
services running and prints the commands to look around and to stop them.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runDemo(cmd.Context(), g, opts) },
	}
	c.Flags().StringVar(&opts.dir, "dir", "", "run the demo in DIR (empty or absent) and keep it")
	c.Flags().BoolVar(&opts.keep, "keep", false, "leave the environment and its services running")
	return c
}

// demo is one run: where it is, and the globalOptions through which it
// calls the same functions the commands call, pointed at its environment.
type demo struct {
	out   io.Writer
	inner *globalOptions // --env at the demo environment; output indented
	step  int
	env   *metadata.Env
	// started are the services running now, in start order.
	started []string
}

func (d *demo) say(format string, args ...any) {
	d.step++
	fmt.Fprintf(d.out, "[%d] %s\n", d.step, fmt.Sprintf(format, args...))
}

func runDemo(ctx context.Context, g *globalOptions, opts *demoOptions) (err error) {
	began := time.Now()
	base, temporary, err := demoBase(opts.dir)
	if err != nil {
		return err
	}
	keepDir := opts.keep || !temporary
	defer func() {
		switch {
		case err != nil:
			fmt.Fprintf(g.stdout, "the demo failed; its directory is kept for a look: %s\n", base)
		case !keepDir:
			os.RemoveAll(base)
		}
	}()
	root := filepath.Join(base, "env")
	indent := &prefixWriter{w: g.stdout, prefix: "    "}
	// The inner commands write indented, never to a terminal of their own.
	inner := &streams{stdin: g.stdin, stdout: &outStream{Writer: indent}, stderr: &outStream{Writer: indent}}
	d := &demo{out: g.stdout, inner: &globalOptions{envDir: root, streams: inner}}

	ports, err := d.prepare(ctx, base, root, indent)
	if err != nil {
		return err
	}
	built := d.build(ctx)

	// Stop even when the run failed or was interrupted: these services
	// are the demo's own.
	stopped := false
	defer func() {
		if len(d.started) > 0 && !stopped && !opts.keep {
			d.stop(context.WithoutCancel(ctx))
		}
	}()
	if err := d.start(ctx, built); err != nil {
		return err
	}
	d.say("status (berth status %s)", strings.Join(d.started, " "))
	if err := d.status(ctx); err != nil {
		return err
	}
	d.say("health: each service's check, once")
	if err := d.health(ctx); err != nil {
		return err
	}
	if err := d.request(ctx, ports[1]); err != nil {
		return err
	}
	d.say("logs: the last lines (berth logs api web -n 3)")
	if err := d.logs(ctx); err != nil {
		return err
	}
	if opts.keep {
		d.printKeep(root)
	} else {
		stopped = true
		if err := d.stop(context.WithoutCancel(ctx)); err != nil {
			return err
		}
	}
	fmt.Fprintf(g.stdout, "demo done in %.1fs\n", time.Since(began).Seconds())
	return nil
}

// prepare makes the demo environment in base (root its root): init, free
// ports, git repositories, versions and installs; it returns the ports of
// api, web and box.
func (d *demo) prepare(ctx context.Context, base, root string, indent io.Writer) ([3]int, error) {
	name := "demo-" + randomSuffix()
	res, err := metadata.Init(metadata.InitOptions{Dir: root, Template: "demo", Name: name, InstallRoot: filepath.Join(base, "releases")})
	if err != nil {
		return [3]int{}, err
	}
	d.say("init: created the demo environment %q in %s (berth init --template demo)", res.Name, res.Root)
	ports, err := setDemoPorts(root)
	if err != nil {
		return ports, err
	}
	fmt.Fprintf(indent, "free ports: api %d, web %d, box %d (config/.env)\n", ports[0], ports[1], ports[2])

	if err := makeDemoRepos(ctx, filepath.Join(root, "repos")); err != nil {
		return ports, err
	}
	var made []string
	for _, r := range demoRepos {
		made = append(made, fmt.Sprintf("%s (tags %s; branch %s)", r.component, strings.Join(r.releases, " "), r.branch))
	}
	d.say("repos: made git repositories in %s: %s", filepath.Join(root, "repos"), strings.Join(made, ", "))

	d.say("versions api: the stable tags, newest first (berth versions api)")
	if err := runVersions(ctx, d.inner, "api", &versionsOptions{output: string(outputText)}); err != nil {
		return ports, err
	}
	for _, in := range []struct{ component, version string }{{"api", ""}, {"web", ""}, {"web", "branch:next"}} {
		what := in.component
		if in.version != "" {
			what += " " + in.version
		}
		d.say("install %s: fetch, run the setup steps, bind it in .metadata (berth install %s)", what, what)
		if err := runInstall(ctx, d.inner, in.component, in.version, &installOptions{output: string(outputText)}); err != nil {
			return ports, err
		}
	}

	d.env, err = metadata.Open(root)
	return ports, err
}

// demoBase is the demo's directory: a new temporary one, or dir, which
// must be empty or absent so that the demo never mixes with other files.
func demoBase(dir string) (base string, temporary bool, err error) {
	if dir == "" {
		base, err = os.MkdirTemp("", "berth-demo-")
		return base, true, err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", false, err
	}
	entries, err := os.ReadDir(abs)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return abs, false, os.MkdirAll(abs, 0o755)
	case err != nil:
		return "", false, fmt.Errorf("demo directory: %w", err)
	case len(entries) > 0:
		return "", false, usagef("demo directory %s is not empty: give an empty or new directory to --dir", abs)
	}
	return abs, false, nil
}

func randomSuffix() string {
	b := make([]byte, 3)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// setDemoPorts picks three free ports and writes them into config/.env,
// where the demo's commands, published port and health checks take them.
func setDemoPorts(root string) ([3]int, error) {
	var ports [3]int
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	for i := range ports {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return ports, fmt.Errorf("find a free port for the demo: %w", err)
		}
		lns = append(lns, ln)
		ports[i] = ln.Addr().(*net.TCPAddr).Port
	}
	edits := []struct {
		file     string
		old, new []string
	}{
		{filepath.Join(root, "config", ".env"),
			[]string{"DEMO_API_PORT=47811", "DEMO_WEB_PORT=47812", "DEMO_BOX_PORT=47813"},
			[]string{"DEMO_API_PORT=" + strconv.Itoa(ports[0]), "DEMO_WEB_PORT=" + strconv.Itoa(ports[1]), "DEMO_BOX_PORT=" + strconv.Itoa(ports[2])}},
	}
	for _, e := range edits {
		b, err := os.ReadFile(e.file)
		if err != nil {
			return ports, err
		}
		for i := range e.old {
			if !bytes.Contains(b, []byte(e.old[i])) {
				return ports, fmt.Errorf("%s has no %q to replace: the demo template changed", e.file, e.old[i])
			}
			b = bytes.ReplaceAll(b, []byte(e.old[i]), []byte(e.new[i]))
		}
		if err := metadata.WriteFileAtomic(e.file, b, 0o644); err != nil {
			return ports, err
		}
	}
	return ports, nil
}

// build builds the demo image as `berth build` does, and says why not when
// no daemon answers. It reports whether the image is there to run.
func (d *demo) build(ctx context.Context) bool {
	d.say("build demo-runtime: a FROM scratch image through the Docker Engine API (berth build demo-runtime)")
	err := runBuild(ctx, d.inner, []string{"demo-runtime"}, &buildOptions{builder: "auto", output: string(outputText)})
	if err == nil {
		return true
	}
	var unreachable *engine.UnreachableError
	if errors.As(err, &unreachable) {
		fmt.Fprintf(d.inner.stdout, "skipped: no Docker daemon answers (%v); the demo goes on with the host processes\n", err)
	} else {
		fmt.Fprintf(d.inner.stdout, "skipped: the build failed: %v\n", err)
	}
	return false
}

func (d *demo) start(ctx context.Context, built bool) error {
	names := []string{"api", "web"}
	box := "box: not started: "
	m, err := d.inner.newManager()
	if err != nil {
		return err
	}
	defer m.Close()
	if built {
		names, box = append(names, "box"), ""
	} else {
		box += "no demo image (see the build step)"
	}
	d.say("start %s: in dependency order, each after its health check passes (berth start %s)", strings.Join(names, " "), strings.Join(names, " "))
	states, err := m.Start(ctx, names, runtime.StartRequest{})
	for _, st := range states {
		d.started = append(d.started, st.Name)
	}
	writeStatusBlock(d.inner.stdout, states)
	if box != "" {
		fmt.Fprintln(d.inner.stdout, box)
	}
	return err
}

func (d *demo) status(ctx context.Context) error {
	m, err := d.inner.newManager()
	if err != nil {
		return err
	}
	defer m.Close()
	states, err := m.Status(ctx, d.started, runtime.StatusRequest{})
	if err != nil {
		return err
	}
	for _, st := range states {
		fmt.Fprintln(d.inner.stdout, statusLine(st))
	}
	return nil
}

// health runs each started service's check once, as `berth health` does.
func (d *demo) health(ctx context.Context) error {
	m, err := d.inner.newManager()
	if err != nil {
		return err
	}
	defer m.Close()
	reports, err := m.Health(ctx, d.started)
	if err != nil {
		return err
	}
	// Symbols as berth health draws them on the demo's own terminal.
	render := health.RenderPlain
	if o, ok := d.out.(*outStream); ok && o.colorEnabled() {
		render = health.Render
	}
	if err := render(d.inner.stdout, reports); err != nil {
		return err
	}
	if c := health.Count(reports); c.Unhealthy > 0 {
		return fmt.Errorf("%d demo service(s) not healthy: see the lines above", c.Unhealthy)
	}
	return nil
}

// request asks the web service for its page, as a user's browser would.
func (d *demo) request(ctx context.Context, port int) error {
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	d.say("request: GET %s", url)
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("ask the demo's web service: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err != nil {
		return err
	}
	fmt.Fprintf(d.inner.stdout, "%s %s", resp.Status, body)
	return nil
}

func (d *demo) logs(ctx context.Context) error {
	names := []string{"api", "web"}
	m, err := d.inner.newManager()
	if err != nil {
		return err
	}
	var sources []logs.Source
	defer func() {
		for _, s := range sources {
			s.Reader.(io.Closer).Close()
		}
	}()
	for _, n := range names {
		rc, err := m.Logs(ctx, n, runtime.LogOptions{Tail: 3})
		if err != nil {
			return err
		}
		sources = append(sources, logs.Source{Name: n, Reader: rc})
	}
	p := logs.NewPrinter(d.inner.stdout, names, false)
	return logs.Stream(ctx, sources, logs.Options{}, p.Print)
}

func (d *demo) stop(ctx context.Context) error {
	d.say("stop %s: TERM to each, in reverse dependency order (berth stop %s)", strings.Join(d.started, " "), strings.Join(d.started, " "))
	return runStop(ctx, d.inner, d.started, &stopOptions{output: string(outputText)})
}

func (d *demo) printKeep(root string) {
	d.say("kept: the services run on; look around and stop them with:")
	for _, line := range []string{
		"cd " + root,
		"berth status " + strings.Join(d.started, " "),
		"berth versions web",
		"berth logs api web -f",
		"berth stop " + strings.Join(d.started, " "),
	} {
		fmt.Fprintln(d.inner.stdout, line)
	}
}

// prefixWriter indents every line written through it.
type prefixWriter struct {
	w       io.Writer
	prefix  string
	midLine bool
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	var buf bytes.Buffer
	for _, line := range bytes.SplitAfter(b, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		if !p.midLine {
			buf.WriteString(p.prefix)
		}
		buf.Write(line)
		p.midLine = line[len(line)-1] != '\n'
	}
	if _, err := p.w.Write(buf.Bytes()); err != nil {
		return 0, err
	}
	return len(b), nil
}
