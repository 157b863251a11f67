package main

import (
	"strings"

	"github.com/spf13/cobra"
)

// examples are the Examples sections of berth's commands, by command name,
// taken from real sessions. A test checks that every command has one and
// that each line names real commands and flags.
var examples = map[string]string{
	"init": `berth init lab --template backend         # a new environment in ./lab
berth init . -t demo --name try            # here, named try
berth init lab -t backend --install-root /opt/berth   # releases shared elsewhere
berth init mgr -t manager                  # the OQTOPUS manager
berth init team -t ./templates/ours        # a template directory of your own
berth init lab -t backend --branch develop # templates/backend of the OQTOPUS CLI's develop branch
berth init -t backend --force              # here: complete an environment the OQTOPUS CLI made`,
	"validate": `berth validate                            # berth.yaml, .metadata and config/.env
berth validate --env ~/lab                # an environment elsewhere`,
	"info": `berth info                                # template, root, bindings
berth info -o json                        # the same keys as a JSON object
berth info --raw                          # the file exactly as stored (the OQTOPUS CLI's info)`,
	"run": `berth run                                 # the tasks berth.yaml declares
berth run device-status show              # oqtopus backend device-status show
berth run device-status maintenance       # set it`,
	"relocate": `mv ~/lab ~/work/lab && cd ~/work/lab && berth relocate`,
	"doctor": `berth doctor                              # git, uv, Docker: what is there
berth doctor -o json`,
	"versions": `berth versions engine                     # '*' marks the bound version
berth versions engine --repo https://github.com/me/engine.git   # a fork`,
	"install": `berth install all --skip-sse-build        # the latest release of every component
berth install engine v2.0.3               # a release, shared under install_root
berth install engine branch:develop       # a branch, cloned into ./engine
berth install engine v2.0.3 --adopt       # a release the OQTOPUS CLI installed`,
	"update": `berth update engine                       # the newest stable tag
berth update all --skip-sse-build`,
	"uninstall": `berth uninstall engine v2.0.3
berth uninstall engine branch:develop     # and drop the binding`,
	"build": `berth build sse-runtime                   # for the bound engine version
berth build all --no-cache                # rebuild everything from scratch
berth build sse-runtime --builder classic`,
	"images": `berth images                              # current, stale or missing
berth images -o json`,
	"pull": `berth pull                                # every container and swarm service's image
berth pull web api                        # those of web and api
berth pull -o json`,
	"start": `berth start all                           # every service, in start order
berth start gateway                       # and the stopped services it depends on
berth start gateway --no-deps             # only gateway
berth start core --foreground             # attached to the terminal; Ctrl-C stops it
berth start all --parallel 1              # one after another`,
	"stop": `berth stop all
berth stop core --with-dependents         # the services that need core first
berth stop gateway --timeout 30s --force  # KILL after 30 s
berth stop all --yes                      # critical services too, without asking`,
	"restart": `berth restart core
berth restart core --with-dependents      # and start its dependents again`,
	"status": `berth status                              # "core: Running (PID 12345)" per service
berth status -o wide                      # with uptime and health
berth ps core -o json`,
	"health": `berth health                              # every running service's check, once
berth health core -o json
berth health --watch                      # print changes until Ctrl-C`,
	"deps": `berth deps                                # the whole graph
berth deps gateway                        # what gateway needs and what needs it`,
	"logs": `berth logs core -n 50                     # the last 50 lines
berth logs all -f                         # every service, interleaved, until Ctrl-C
berth logs gateway --since 10m
berth logs core --stdout                  # the output berth kept, not app_log`,
	"demo": `berth demo                                # the tour, then everything is removed
berth demo --dir /tmp/tour --keep         # keep it running to look around`,
}

// addExamples gives a top-level command its examples, indented as cobra
// prints them.
func addExamples(c *cobra.Command) {
	if text, ok := examples[c.Name()]; ok && c.Example == "" {
		c.Example = "  " + strings.ReplaceAll(text, "\n", "\n  ")
	}
}

// envFlagUnused marks commands that --env does not concern (they make or
// pick their environment otherwise): their help does not list it, and
// giving it is an error rather than silently ignored.
func envFlagUnused(c *cobra.Command, instead string) {
	var dir string
	c.Flags().StringVar(&dir, "env", "", "")
	c.Flags().MarkHidden("env")
	prev := c.PreRunE
	c.PreRunE = func(cmd *cobra.Command, args []string) error {
		if cmd.Flags().Changed("env") {
			return usagef("--env does not apply to %s: %s", c.Name(), instead)
		}
		if prev != nil {
			return prev(cmd, args)
		}
		return nil
	}
}

// hideEnvFlag applies envFlagUnused to a top-level command it concerns.
func hideEnvFlag(c *cobra.Command) {
	instead := map[string]string{
		"init":       "give the new environment's directory as DIR",
		"demo":       "give the demo's directory with --dir",
		"completion": "completion finds the environment from the command line being completed",
	}
	if why, ok := instead[c.Name()]; ok {
		envFlagUnused(c, why)
	}
}
