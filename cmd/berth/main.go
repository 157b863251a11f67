// Command berth manages containerized development environments: versioned
// components, runtime images built through the Docker Engine API, and
// services run as host processes, containers or docker compose projects.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	os.Exit(run(os.Args[1:], newStreams(os.Stdin, os.Stdout, os.Stderr)))
}

// Exit codes: 0 success, 1 failure, 2 usage error; a foreground service's own
// code is passed through with ExitError.
const (
	exitFailure = 1
	exitUsage   = 2
)

// ExitError ends berth with a given code and, if Err is set, a message.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// usageError marks a mistake in how berth was called.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

func run(args []string, s *streams) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRootCommandFor(s, args)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return 0
	}
	code := report(root, args, s, err)
	// With -o json, a failure that left stdout without a document is one:
	// {"error": ..., "service": ...}, with the same exit code.
	var ee *ExitError
	if wantsJSON(cmd) && !s.stdout.wrote && (!errors.As(err, &ee) || ee.Err != nil) {
		writeJSON(s.stdout, newJSONError(err, code))
	}
	return code
}

// report prints err on stderr and returns berth's exit code for it.
func report(root *cobra.Command, args []string, s *streams, err error) int {
	var ee *ExitError
	if errors.As(err, &ee) {
		if ee.Err != nil {
			fmt.Fprintf(s.stderr, "Error: %v\n", ee.Err)
		}
		return ee.Code
	}
	fmt.Fprintf(s.stderr, "Error: %v\n", err)
	var ue usageError
	// cobra reports an unknown command with a plain error.
	if errors.As(err, &ue) || strings.HasPrefix(err.Error(), "unknown command ") {
		fmt.Fprintf(s.stderr, "Run '%s --help' for usage.\n", commandPathFor(root, args))
		return exitUsage
	}
	return exitFailure
}
