package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/berthdev/berth/metadata"
)

type depsOptions struct{ output string }

func newDepsCommand(g *globalOptions) *cobra.Command {
	opts := &depsOptions{}
	c := &cobra.Command{
		Use:   "deps [SERVICE]",
		Short: "Show the dependency tree, or what one service needs and what needs it",
		Long: `Without a service, show every service that nothing depends on as a tree of
what it needs (depends_on). With a service, show what it needs and what needs
it, each as a tree. An edge with condition healthy is marked (healthy).
Cycles are refused when berth.yaml loads.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runDeps(cmd.Context(), g, args, opts) },
	}
	addOutputFlag(c, &opts.output, outputText, outputJSON)
	return c
}

// depsEntry is one service of `deps -o json` without a service.
type depsEntry struct {
	Service  string             `json:"service"`
	Needs    []metadata.DepNode `json:"needs"`
	NeededBy []string           `json:"needed_by"`
}

// depsOne is `deps SERVICE -o json`.
type depsOne struct {
	Service  string             `json:"service"`
	Needs    []metadata.DepNode `json:"needs"`
	NeededBy []metadata.DepNode `json:"needed_by"`
}

func runDeps(_ context.Context, g *globalOptions, args []string, opts *depsOptions) error {
	env, err := g.openEnv()
	if err != nil {
		return err
	}
	man := env.Manifest
	graph := man.Graph()
	if len(args) == 1 {
		name := args[0]
		if man.Services[name] == nil {
			return man.UnknownService(name)
		}
		one := depsOne{Service: name, Needs: nonNil(graph.NeedsTree(name)), NeededBy: nonNil(graph.NeededByTree(name))}
		if outputFormat(opts.output) == outputJSON {
			return writeJSON(g.stdout, one)
		}
		for _, part := range []struct {
			head  string
			nodes []metadata.DepNode
		}{{name + " needs:", one.Needs}, {name + " is needed by:", one.NeededBy}} {
			fmt.Fprintln(g.stdout, part.head)
			if len(part.nodes) == 0 {
				fmt.Fprintln(g.stdout, "    (nothing)")
			}
			writeTree(g.stdout, part.nodes, "")
		}
		return nil
	}
	if outputFormat(opts.output) == outputJSON {
		out := []depsEntry{}
		for _, n := range graph.StartOrder() {
			e := depsEntry{Service: n, Needs: []metadata.DepNode{}, NeededBy: nonNil(graph.Dependents(n))}
			for _, d := range man.Services[n].DependsOn {
				e.Needs = append(e.Needs, metadata.DepNode{Service: d.Service, Condition: d.Condition})
			}
			out = append(out, e)
		}
		return writeJSON(g.stdout, out)
	}
	for _, n := range man.ServiceOrder {
		if len(graph.Dependents(n)) > 0 {
			continue // shown under what needs it
		}
		fmt.Fprintln(g.stdout, n)
		writeTree(g.stdout, graph.NeedsTree(n), "")
	}
	return nil
}

func writeTree(w io.Writer, nodes []metadata.DepNode, indent string) {
	for i, n := range nodes {
		branch, next := "├── ", "│   "
		if i == len(nodes)-1 {
			branch, next = "└── ", "    "
		}
		label := n.Service
		if n.Condition == metadata.ConditionHealthy {
			label += " (healthy)"
		}
		fmt.Fprintf(w, "%s%s%s\n", indent, branch, label)
		writeTree(w, n.Next, indent+next)
	}
}
