package logs

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/berthdev/berth/metadata"
)

// ErrNotSupported is returned for services whose logs do not live in files
// (containers and compose projects: their logs come from the Docker daemon,
// through the service's runner).
var ErrNotSupported = errors.New("not supported")

// DefaultPath is where a service's output goes, relative to the environment
// root, under `log: {to: file}` without a path.
func DefaultPath(service string) string {
	return filepath.Join("logs", service, "service.log")
}

// OutputPath is the file a service's stdout and stderr go to, relative to
// the root, and whether they go to a file at all.
func OutputPath(name string, s *metadata.Service) (string, bool) {
	if s.Log == nil || s.Log.To != metadata.LogFile {
		return "", false
	}
	if s.Log.Path != "" {
		return s.Log.Path, true
	}
	return DefaultPath(name), true
}

// ServiceSource is the log file `berth logs` reads for a service. A service
// may have two: its captured output (log: {to: file}) and the application's
// own log (app_log). The application's log is preferred, because that is
// where an application that configures its own logging (the OQTOPUS
// backend's services) writes; output=true asks for the captured output.
func ServiceSource(env *metadata.Env, name string, output bool) (Source, error) {
	s := env.Manifest.Services[name]
	if s == nil {
		return Source{}, fmt.Errorf("unknown service %q: berth.yaml names %s", name, strings.Join(env.Manifest.ServiceOrder, ", "))
	}
	if s.Runner == metadata.RunnerContainer || s.Runner == metadata.RunnerCompose {
		return Source{}, fmt.Errorf("logs of %s service %s are kept by the Docker daemon, not in a file: %w", s.Runner, name, ErrNotSupported)
	}
	out, captured := OutputPath(name, s)
	var rel string
	switch {
	case output && captured:
		rel = out
	case output:
		return Source{}, fmt.Errorf("the output of service %s is not kept (log.to is discard): add `log: {to: file}` to services.%s in berth.yaml, then restart it", name, name)
	case s.AppLog != "":
		rel = s.AppLog
	case captured:
		rel = out
	default:
		return Source{}, fmt.Errorf("service %s has no log file: add `log: {to: file}` (its output then goes to %s) or `app_log: PATH` to services.%s in berth.yaml, or run it in the foreground with `berth start %s --foreground`", name, DefaultPath(name), name, name)
	}
	if !filepath.IsAbs(rel) {
		rel = env.Path(rel)
	}
	return Source{Name: name, Path: rel}, nil
}
