package main

import (
	"github.com/spf13/cobra"

	"github.com/berthdev/berth/runtime"
)

// Compose habits: up, down and ps are start, stop and status as docker
// compose users type them. up and down without names mean every service, as
// in compose; start and stop without names stay usage errors, so that a
// bare `berth stop` never stops everything by accident.

func newUpCommand(g *globalOptions) *cobra.Command {
	c := startCommand(g, &startOptions{skipRunning: true})
	c.Use = "up [SERVICE...]"
	c.Short = "Start services, every service when none is named (compose's up, detached)"
	c.Long = `up is start as docker compose users know it: without names it starts every
service (start all); with names, those services and their stopped
dependencies. Services already running are left as they are. Unlike compose's
up, berth returns once the services are started: see their output with
berth logs. Everything else is as berth start --help describes.`
	c.Example = `  berth up                   # every service, in start order
  berth up web               # web and the stopped services it depends on`
	return allWithoutNames(c)
}

func newDownCommand(g *globalOptions) *cobra.Command {
	c := newStopCommand(g)
	c.Use = "down [SERVICE...]"
	c.Short = "Stop services, every service when none is named (compose's down)"
	c.Long = `down is stop as docker compose users know it: without names it stops every
service (stop all), in reverse start order; with names, those services.
Unlike compose's down, nothing is removed: logs, PID files and images stay.
Everything else is as berth stop --help describes.`
	c.Example = `  berth down                 # every service, in reverse start order
  berth down web --force     # KILL web if TERM has not stopped it in time`
	return allWithoutNames(c)
}

// allWithoutNames lets c run without arguments, as "all".
func allWithoutNames(c *cobra.Command) *cobra.Command {
	c.Args = cobra.ArbitraryArgs
	run := c.RunE
	c.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			args = []string{runtime.All}
		}
		return run(cmd, args)
	}
	return c
}
