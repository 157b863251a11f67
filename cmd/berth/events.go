package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/berthdev/berth/runtime/supervisor"
)

type eventsOptions struct {
	follow bool
	since  time.Duration
	output string
}

func newEventsCommand(g *globalOptions) *cobra.Command {
	opts := &eventsOptions{}
	c := &cobra.Command{
		Use:   "events [SERVICE...]",
		Short: "Show what happened to the services: starts, exits, restarts, give-ups",
		Long: `Show the event log the supervisor keeps in the environment (.berth/events.jsonl,
rotated at 1 MiB): started, exited (exit code or signal), restarting in D,
gave up after N restarts, unhealthy, healthy, stopped (by user),
stopped-dependent (because X crashed), adopted, exited-unsupervised. For
container, compose and Swarm services it records what their Docker engine
reports (started, exited, restarted by docker, killed, oom, healthy,
unhealthy, a Swarm task failed or replaced), with the container and task IDs,
and engine-lost/engine-back when the daemon goes away and comes back. It is
read from disk, so it works while no supervisor runs. -f waits for new events
until interrupted.`,
		Example: `  berth events                 # everything recorded
  berth events api --since 1h  # api's events of the last hour
  berth events -f -o json      # new events as JSON lines, until interrupted`,
		RunE: func(cmd *cobra.Command, args []string) error { return runEvents(cmd.Context(), g, args, opts) },
	}
	c.Flags().BoolVarP(&opts.follow, "follow", "f", false, "keep printing new events until interrupted")
	c.Flags().DurationVar(&opts.since, "since", 0, "only events of the last D (e.g. 10m)")
	addOutputFlag(c, &opts.output, outputText, outputJSON)
	return c
}

// eventsPoll is how often -f looks for new events.
const eventsPoll = 200 * time.Millisecond

func runEvents(ctx context.Context, g *globalOptions, names []string, opts *eventsOptions) error {
	if opts.since < 0 {
		return usagef("--since cannot be negative")
	}
	env, err := g.openEnvTolerant()
	if err != nil {
		return err
	}
	for _, n := range names {
		if env.Manifest.Services[n] == nil {
			return env.Manifest.UnknownService(n)
		}
	}
	var since time.Time
	if opts.since > 0 {
		since = time.Now().Add(-opts.since)
	}
	p := supervisor.PathsOf(env.Root)
	evs, err := supervisor.ReadEvents(p, names, since)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(g.stdout)
	print := func(e supervisor.Event) {
		if outputFormat(opts.output) == outputJSON {
			enc.Encode(e)
			return
		}
		fmt.Fprintln(g.stdout, e.Text())
	}
	if outputFormat(opts.output) == outputJSON && !opts.follow {
		return writeJSON(g.stdout, nonNil(evs))
	}
	for _, e := range evs {
		print(e)
	}
	if !opts.follow {
		return nil
	}
	last := time.Time{}
	if len(evs) > 0 {
		last = evs[len(evs)-1].At
	}
	t := time.NewTicker(eventsPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		more, err := supervisor.ReadEvents(p, names, last)
		if err != nil {
			return err
		}
		for _, e := range more {
			if e.At.After(last) {
				print(e)
				last = e.At
			}
		}
	}
}
