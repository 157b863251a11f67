package runtime

import (
	"context"
	"errors"

	"github.com/berthdev/berth/internal/parts"
)

// StopBeginner is implemented by a runner that can begin stops apart from
// waiting for their ends (the supervised process runner). BeginStops
// sends each stop's first signal, in order, as Stop would, and returns one
// BegunStop for each target; a BegunStop's Finish does the rest of what
// Stop does (the members outside the group, the wait, KILL with
// opts.Kill, the record) and returns what Stop would.
//
// A stop all begins the stops of every service it would visit first in
// one call: the supervised runner sends them to its supervisor as one
// request, which signals every service before it waits for any. Begun one
// visit at a time, the signals of a stop of 100 spread over 20 to 40 ms,
// the last of them held up by the exits of the first services, which took
// the processors from the command and its supervisor (a plain `kill` of
// each sends all 100 in a few milliseconds). The plain process runner
// does not: its stops, made by the command itself, were slower begun
// together (the notes of issue 16 say by how much).
//
// A target's Handle is the record as the plan read it, moments before,
// not read again: BeginStops checks, as it begins each stop, that the
// service's record still names that launch (RecordChecker's question,
// which the supervisor answers from the launch it watches, without a
// read), and a stop whose record names another launch finishes with
// ErrRecordMoved, after which the manager inspects the service again and
// stops what it finds.
type StopBeginner interface {
	BeginStops(ctx context.Context, targets []StopTarget) []BegunStop
}

// ErrRecordMoved is a begun stop's answer when the service's record names
// another launch than the one its plan read (relaunched in between).
var ErrRecordMoved = errors.New("the service was launched again since its stop was planned")

// StopTarget is one stop to begin: the service, the record of the launch
// to stop, and the stop's options.
type StopTarget struct {
	Service *Service
	Handle  Handle
	Options StopOptions
}

// BegunStop is a stop whose first signal has gone (StopBeginner).
type BegunStop interface {
	Finish(ctx context.Context) error
}

// stopTarget is a service of a stop plan with its runner.
type stopTarget struct {
	svc *Service
	run Runner
}

// begunStop is a stop ExecuteStop prepared (and began, when b is set)
// before its walk; res is its result so far. again stops the service as
// it is now, should the begun stop find it relaunched (ErrRecordMoved).
type begunStop struct {
	res   StopResult
	b     BegunStop
	again func(ctx context.Context) StopResult
}

func (b *begunStop) finish(ctx context.Context) StopResult {
	if b.b == nil {
		return b.res
	}
	err := b.b.Finish(ctx)
	if errors.Is(err, ErrRecordMoved) {
		return b.again(ctx)
	}
	return stopFailed(b.res, err, nil)
}

// beginStops prepares and begins together the stops that the walk would
// visit first: those of services no other service of the plan waits for
// (gates), whose runner is a StopBeginner and that have no pre_stop
// steps (those run before the signal, in the walk). Each is prepared as
// stopOne prepares it, the preparations split between the processors,
// then each runner begins its stops in one call. The walk then only
// waits for each to finish.
func (m *Manager) beginStops(ctx context.Context, p *StopPlan, targets map[string]stopTarget, gates map[string][]gate) map[string]*begunStop {
	inPlan := make(map[string]bool, len(p.Stop))
	for _, n := range p.Stop {
		inPlan[n] = true
	}
	var first []string
	for _, n := range p.Stop {
		if _, ok := targets[n].run.(StopBeginner); !ok || m.hasPreStop(n) || waitsInPlan(gates[n], inPlan) {
			continue
		}
		first = append(first, n)
	}
	if len(first) == 0 {
		return nil
	}
	begun := make([]begunStop, len(first))
	stops := make([]StopTarget, len(first))
	signal := make([]bool, len(first))
	parts.Run(len(first), localShare, func(_, lo, hi int) {
		for j := lo; j < hi; j++ {
			t := targets[first[j]]
			planned, ok := p.Running[first[j]]
			res, h, opts, sig := m.prepareStop(ctx, t.svc, t.run, p.req, planned, ok, true)
			begun[j].res, signal[j] = res, sig
			begun[j].again = func(ctx context.Context) StopResult {
				return m.stopOne(ctx, t.svc, t.run, p.req, State{}, false)
			}
			stops[j] = StopTarget{Service: t.svc, Handle: h, Options: opts}
		}
	})
	// One call per runner (a runner is named by its kind), in plan order.
	byRunner := map[string][]int{}
	var kinds []string
	for j, n := range first {
		if !signal[j] {
			continue
		}
		kind := targets[n].svc.Runner
		if byRunner[kind] == nil {
			kinds = append(kinds, kind)
		}
		byRunner[kind] = append(byRunner[kind], j)
	}
	for _, kind := range kinds {
		js := byRunner[kind]
		batch := make([]StopTarget, len(js))
		for k, j := range js {
			batch[k] = stops[j]
		}
		bs := targets[first[js[0]]].run.(StopBeginner).BeginStops(ctx, batch)
		for k, j := range js {
			begun[j].b = bs[k]
		}
	}
	out := make(map[string]*begunStop, len(first))
	for j, n := range first {
		out[n] = &begun[j]
	}
	return out
}

// waitsInPlan says whether a node with gates waits for another node of
// the plan.
func waitsInPlan(gates []gate, inPlan map[string]bool) bool {
	for _, g := range gates {
		if inPlan[g.node] {
			return true
		}
	}
	return false
}

// hasPreStop says whether the service has pre_stop steps.
func (m *Manager) hasPreStop(name string) bool {
	spec := m.Env.Manifest.Services[name]
	return spec != nil && spec.Hooks != nil && len(spec.Hooks.PreStop) > 0
}
