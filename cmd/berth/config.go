package main

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/berthdev/berth/metadata"
	"github.com/berthdev/berth/runtime/health"
)

type configOptions struct{ output string }

func newConfigCommand(g *globalOptions) *cobra.Command {
	opts := &configOptions{}
	c := &cobra.Command{
		Use:   "config [SERVICE...]",
		Short: "Print the manifest as berth resolves it: variables expanded, defaults filled in",
		Long: `Print berth.yaml as berth resolves it, as docker compose config does: every
variable expanded (config/.env, then the shell; defaults such as ${PORT:-8080}
applied), the defaults berth uses written out (runner, stop signal and
timeouts, health check interval, timeout and retries), and for each service
the file and line it comes from (source). Names limit the output to those
services. A variable that is not defined stays as it is written and is named
on stderr; the exit code is then 1. -o json prints the same as a JSON object.`,
		Example: `  berth config                     # the whole resolved manifest, as YAML
  berth config web -o json         # one service, as JSON`,
		RunE: func(cmd *cobra.Command, args []string) error { return runConfig(cmd.Context(), g, args, opts) },
	}
	addOutputFlag(c, &opts.output, outputText, outputJSON)
	return c
}

func runConfig(_ context.Context, g *globalOptions, names []string, opts *configOptions) error {
	env, err := g.openEnv()
	if err != nil {
		return err
	}
	m := env.Manifest
	for _, n := range names {
		if m.Services[n] == nil {
			return m.UnknownService(n)
		}
	}
	doc, missing := resolvedManifest(env, names)
	if outputFormat(opts.output) == outputJSON {
		var v any
		if err := doc.Decode(&v); err != nil {
			return err
		}
		if err := writeJSON(g.stdout, v); err != nil {
			return err
		}
	} else {
		enc := yaml.NewEncoder(g.stdout)
		enc.SetIndent(2)
		if err := enc.Encode(doc); err != nil {
			return err
		}
		enc.Close()
	}
	if len(missing) > 0 {
		return fmt.Errorf("%d undefined variable(s), left as written:\n  %s", len(missing), strings.Join(missing, "\n  "))
	}
	return nil
}

// resolvedManifest builds the resolved manifest in the manifest's own order,
// with the variables berth cannot expand (as validate reports them).
func resolvedManifest(env *metadata.Env, only []string) (*yaml.Node, []string) {
	m := env.Manifest
	top := &yaml.Node{Kind: yaml.MappingNode}
	add := func(parent *yaml.Node, key string, v any) {
		var n yaml.Node
		n.Encode(v)
		parent.Content = append(parent.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, &n)
	}
	if len(only) == 0 {
		add(top, "version", m.Version)
		if m.Description != "" {
			add(top, "description", m.Description)
		}
		section := func(name string, order []string, get func(string) any) {
			if len(order) == 0 {
				return
			}
			s := &yaml.Node{Kind: yaml.MappingNode}
			for _, k := range order {
				add(s, k, get(k))
			}
			top.Content = append(top.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: name}, s)
		}
		section("components", m.ComponentOrder, func(k string) any { return m.Components[k] })
		section("images", m.ImageOrder, func(k string) any {
			img := *m.Images[k]
			expandStrings(&img, varsFor(env, img.Component))
			return &img
		})
		section("hosts", m.HostOrder, func(k string) any { return m.Hosts[k] })
	}
	lines := m.ServiceLines()
	src := m.Path
	if rel, err := filepath.Rel(env.Root, src); err == nil && !strings.HasPrefix(rel, "..") {
		src = rel
	}
	names := only
	if len(names) == 0 {
		names = m.ServiceOrder
	}
	svcs := &yaml.Node{Kind: yaml.MappingNode}
	for _, n := range names {
		s := resolvedService(env, m.Services[n])
		var node yaml.Node
		node.Encode(s)
		source := fmt.Sprintf("%s:%d", src, lines[n])
		node.Content = append([]*yaml.Node{{Kind: yaml.ScalarNode, Value: "source"}, {Kind: yaml.ScalarNode, Value: source}}, node.Content...)
		svcs.Content = append(svcs.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: n}, &node)
	}
	top.Content = append(top.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "services"}, svcs)
	if len(only) == 0 && len(m.StartOrder) > 0 {
		add(top, "start_order", m.StartOrder)
	}
	var missing []string
	for _, v := range env.UndefinedVariables() {
		if len(only) == 0 || inServices(v, only, lines) {
			missing = append(missing, v)
		}
	}
	return &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{top}}, missing
}

// inServices says whether a "FILE:LINE: ..." problem lies within the entry
// of one of names: from its first line to the next service's.
func inServices(problem string, names []string, lines map[string]int) bool {
	var line int
	if _, rest, ok := strings.Cut(problem, ":"); ok {
		fmt.Sscanf(rest, "%d", &line)
	}
	for _, n := range names {
		start, end := lines[n], int(^uint(0)>>1)
		for _, l := range lines {
			if l > start && l < end {
				end = l
			}
		}
		if line >= start && line < end {
			return true
		}
	}
	return false
}

// resolvedService is a copy of spec with its variables expanded and berth's
// defaults written out.
func resolvedService(env *metadata.Env, spec *metadata.Service) *metadata.Service {
	s := *spec
	if s.Runner == "" {
		s.Runner = metadata.RunnerProcess
	}
	if s.StopSignal == "" {
		s.StopSignal = metadata.DefaultStopSignal
	}
	if s.StopTimeout == 0 {
		s.StopTimeout = metadata.Duration(metadata.DefaultStopTimeout)
	}
	if s.StartTimeout == 0 {
		s.StartTimeout = metadata.Duration(metadata.DefaultStartTimeout)
	}
	if s.Health != nil {
		h := *s.Health
		h.Interval = orDefault(h.Interval, health.DefaultInterval)
		h.Timeout = orDefault(h.Timeout, health.DefaultTimeout)
		if h.Retries == 0 {
			h.Retries = health.DefaultRetries
		}
		s.Health = &h
	}
	expandStrings(&s, varsFor(env, s.Component))
	return &s
}

func orDefault(d metadata.Duration, def time.Duration) metadata.Duration {
	if d == 0 {
		return metadata.Duration(def)
	}
	return d
}

// varsFor is the lookup of a component's entries; COMPONENT_DIR is left out
// when the component is not installed (its references stay as written).
func varsFor(env *metadata.Env, component string) func(string) (string, bool) {
	if vars, err := env.Vars(component); err == nil {
		return vars
	}
	vars, err := env.Vars("")
	if err != nil {
		return func(string) (string, bool) { return "", false }
	}
	return vars
}

// expandStrings expands, in place, every string reachable from ptr (fields,
// slices, map values, pointed-to structs, which it copies first so that the
// manifest itself is not changed), except descriptions. A string that
// cannot be expanded stays as written.
func expandStrings(ptr any, vars func(string) (string, bool)) {
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.String:
			if x, err := metadata.Expand(v.String(), vars); err == nil && v.CanSet() {
				v.SetString(x)
			}
		case reflect.Pointer:
			if v.IsNil() || !v.CanSet() {
				return
			}
			cp := reflect.New(v.Elem().Type())
			cp.Elem().Set(v.Elem())
			v.Set(cp)
			walk(cp.Elem())
		case reflect.Struct:
			for i := 0; i < v.NumField(); i++ {
				if v.Type().Field(i).Name != "Description" && v.Type().Field(i).IsExported() {
					walk(v.Field(i))
				}
			}
		case reflect.Slice:
			if v.IsNil() || !v.CanSet() {
				return
			}
			cp := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
			reflect.Copy(cp, v)
			v.Set(cp)
			for i := 0; i < v.Len(); i++ {
				walk(v.Index(i))
			}
		case reflect.Map:
			if v.IsNil() || !v.CanSet() || v.Type().Elem().Kind() != reflect.String {
				return
			}
			cp := reflect.MakeMap(v.Type())
			for _, k := range v.MapKeys() {
				s := v.MapIndex(k).String()
				if x, err := metadata.Expand(s, vars); err == nil {
					s = x
				}
				cp.SetMapIndex(k, reflect.ValueOf(s).Convert(v.Type().Elem()))
			}
			v.Set(cp)
		}
	}
	walk(reflect.ValueOf(ptr).Elem())
}
