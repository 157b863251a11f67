package metadata

import "path"

// DefaultLogPath is where a service's output goes, relative to the root,
// under `log: {to: file}` without a path. It is defined here only.
func DefaultLogPath(service string) string {
	return path.Join("logs", service, "service.log")
}

// OutputPath is the file, relative to the root, that the service name's
// stdout and stderr go to, and whether they go to a file at all.
func (s *Service) OutputPath(name string) (string, bool) {
	if s.Log == nil || s.Log.To != LogFile {
		return "", false
	}
	if s.Log.Path != "" {
		return s.Log.Path, true
	}
	return DefaultLogPath(name), true
}
