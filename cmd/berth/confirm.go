package main

import (
	"bufio"
	"fmt"
	"strings"

	"github.com/berthdev/berth/runtime"
)

// confirmStops asks before a plan stops a running critical service:
// "Stop core? This affects: web, api [y/N]". yes answers every question; a
// stdin that is not a terminal cannot answer, so without yes that is a
// refusal. Any answer but y or yes stops nothing.
func confirmStops(g *globalOptions, m *runtime.Manager, p *runtime.StopPlan, yes bool) error {
	if yes {
		return nil
	}
	var in *bufio.Reader
	for _, n := range p.Stop {
		if _, running := p.Running[n]; !running || !m.Env.Manifest.Services[n].Critical {
			continue
		}
		affects := "no other service"
		if len(p.Affected[n]) > 0 {
			affects = strings.Join(p.Affected[n], ", ")
		}
		if !g.stdin.IsTerminal() {
			return fmt.Errorf("%s is critical (critical: true in berth.yaml) and stopping it affects %s: stdin is not a terminal to confirm on, so pass --yes to stop it", n, affects)
		}
		if in == nil {
			in = bufio.NewReader(g.stdin)
		}
		fmt.Fprintf(g.stderr, "Stop %s? This affects: %s [y/N] ", n, affects)
		answer, _ := in.ReadString('\n')
		switch strings.ToLower(strings.TrimSpace(answer)) {
		case "y", "yes":
		default:
			return fmt.Errorf("%s was not confirmed: nothing was stopped", n)
		}
	}
	return nil
}
