package metadata

import (
	"net"
	"net/url"
	"strings"
)

// validateRemote checks a remote service: an endpoint berth can check, and
// none of the settings of a service berth runs.
func validateRemote(name, key string, s *Service, add func(key, format string, args ...any)) {
	r := s.Remote
	if r == nil || r.Endpoint == "" {
		add(key, "service %q is remote but names no remote.endpoint (an https://… URL or host:port)", name)
		return
	}
	if len(s.Command) > 0 || s.Container != nil || s.Compose != nil || s.Swarm != nil || s.Host != "" {
		add(key, "service %q is remote: berth does not run it, so command, container, compose, swarm and host do not apply", name)
	}
	if _, _, err := RemoteTarget(r.Endpoint); err != nil {
		add(key+".remote.endpoint", "service %q: %v", name, err)
	}
	for _, f := range []struct{ key, path string }{{"ca", r.CA}, {"token_file", r.TokenFile}} {
		if f.path != "" && !isRelativeInside(f.path) && !strings.HasPrefix(f.path, "/") {
			add(key+".remote."+f.key, "service %q: remote.%s %q must be a path inside the environment or absolute", name, f.key, f.path)
		}
	}
}

// RemoteTarget reads a remote endpoint: its kind ("http" for http and
// https URLs, "tcp" otherwise) and what to reach (the URL, or host:port).
func RemoteTarget(endpoint string) (kind, target string, err error) {
	if strings.HasPrefix(endpoint, "http://") || strings.HasPrefix(endpoint, "https://") {
		u, err := url.Parse(endpoint)
		if err != nil || u.Host == "" {
			return "", "", &endpointError{endpoint}
		}
		return "http", endpoint, nil
	}
	addr := strings.TrimPrefix(endpoint, "tcp://")
	if host, port, err := net.SplitHostPort(addr); err != nil || host == "" || port == "" {
		return "", "", &endpointError{endpoint}
	}
	return "tcp", addr, nil
}

type endpointError struct{ endpoint string }

func (e *endpointError) Error() string {
	return "remote.endpoint " + `"` + e.endpoint + `"` + " is neither an http(s) URL nor a tcp address (https://api.example.org/health, tcp://db.example.org:5432 or host:port)"
}
