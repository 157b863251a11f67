package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/berthdev/berth/runtime"
	"github.com/berthdev/berth/runtime/logs"
)

type logsOptions struct {
	follow bool
	tail   string
	since  string
	stdout bool
}

func newLogsCommand(g *globalOptions) *cobra.Command {
	opts := &logsOptions{}
	c := &cobra.Command{
		Use:   "logs SERVICE... | all",
		Short: "Print services' logs",
		Long: `Print the log of each service named: the application's own log file
(app_log in berth.yaml) or, with --stdout or when it has none, the output berth
kept (log: {to: file}), together with their rotated files (.1 is the newest).
Several services are interleaved with a name prefix; "all" means every
service that has a log file. With -f new lines are printed until Ctrl-C.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runLogs(cmd.Context(), g, args, opts) },
	}
	c.Flags().BoolVarP(&opts.follow, "follow", "f", false, "keep printing new lines, across rotation, until interrupted")
	c.Flags().StringVarP(&opts.tail, "tail", "n", "all", `number of lines to show from the end of the log, or "all"`)
	c.Flags().StringVar(&opts.since, "since", "", "show lines since a time (2025-03-18T15:04:05Z) or for a duration back (10m)")
	c.Flags().BoolVar(&opts.stdout, "stdout", false, "show the service's captured output instead of its app_log")
	return c
}

func runLogs(ctx context.Context, g *globalOptions, names []string, opts *logsOptions) error {
	lo, err := opts.streamOptions()
	if err != nil {
		return err
	}
	m, err := g.newManager()
	if err != nil {
		return err
	}
	defer m.Close()
	sources, later, err := openLogs(ctx, m, names, lo, opts.stdout, func(path string) {
		fmt.Fprintf(g.stderr, "Warning: %s has no timestamps on its lines: --since %s cannot filter them, they are all shown (only rotated files last written before it are left out)\n", path, opts.since)
	})
	defer func() {
		for _, s := range sources {
			if c, ok := s.Reader.(io.Closer); ok {
				c.Close()
			}
		}
	}()
	if err != nil {
		return err
	}
	if len(sources) == 0 && len(later) > 0 {
		return errors.Join(later...)
	}
	if len(sources) == 0 {
		return fmt.Errorf("no service of this environment has a log file: add `log: {to: file}` to a service in %s", m.Env.Manifest.Path)
	}
	var sourceNames []string
	for _, s := range sources {
		sourceNames = append(sourceNames, s.Name)
	}
	p := logs.NewPrinter(g.stdout, sourceNames, g.stdout.colorEnabled())
	err = logs.Stream(ctx, sources, lo, p.Print)
	return errors.Join(append([]error{err}, later...)...)
}

// streamOptions reads --tail, --since and --follow.
func (opts *logsOptions) streamOptions() (logs.Options, error) {
	lo := logs.Options{Tail: -1, Follow: opts.follow}
	if opts.tail != "all" {
		n, err := strconv.Atoi(opts.tail)
		if err != nil || n < 0 {
			return lo, usagef("invalid --tail %q: give a number of lines or all", opts.tail)
		}
		lo.Tail = n
	}
	if opts.since != "" {
		t, err := parseSince(opts.since, time.Now())
		if err != nil {
			return lo, usageError{err}
		}
		lo.Since = t
	}
	return lo, nil
}

// openLogs opens the log of each service named ("all": every service that
// has one), each once. Every log comes through the manager from its runner,
// already cut to --tail and --since. A log file not written yet is returned
// in later, to be reported after the others are shown. The sources opened
// are returned even with an error, for the caller to close.
func openLogs(ctx context.Context, m *runtime.Manager, names []string, lo logs.Options, output bool, unfiltered func(string)) (sources []logs.Source, later []error, err error) {
	source := func(name string) (logs.Source, error) {
		rc, err := m.Logs(ctx, name, runtime.LogOptions{Follow: lo.Follow, Tail: lo.Tail, Since: lo.Since, Output: output, Unfiltered: unfiltered})
		if err != nil {
			return logs.Source{}, err
		}
		return logs.Source{Name: name, Reader: rc}, nil
	}
	seen := map[string]bool{}
	for _, name := range names {
		if name == "all" {
			for _, n := range m.Env.Manifest.ServiceOrder {
				if seen[n] {
					continue
				}
				src, err := source(n)
				if errors.Is(err, logs.ErrNoLog) {
					seen[n] = true
					later = append(later, err)
				} else if err == nil {
					seen[n] = true
					sources = append(sources, src)
				}
			}
			continue
		}
		if seen[name] {
			continue
		}
		seen[name] = true
		src, err := source(name)
		if errors.Is(err, logs.ErrNoLog) {
			later = append(later, err)
			continue
		}
		if err != nil {
			return sources, later, err
		}
		sources = append(sources, src)
	}
	return sources, later, nil
}

// parseSince reads --since as docker does: a duration back from now, or a time.
func parseSince(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("invalid --since %q: give a duration (10m, 1h30m) or a time (2025-03-18T15:04:05Z, 2025-03-18)", s)
}
