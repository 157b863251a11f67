package metadata

import (
	"fmt"
	"net/url"
	"strings"
)

// SSHEndpoint is an ssh://[user@]host[:port] Docker endpoint.
type SSHEndpoint struct{ User, Host, Port string }

// ParseSSHEndpoint reads an ssh:// endpoint. A password, a path or a query
// is refused, and so is a host or user that ssh would take for an option.
func ParseSSHEndpoint(endpoint string) (SSHEndpoint, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return SSHEndpoint{}, fmt.Errorf("docker endpoint %s: %w: write it as ssh://[user@]host[:port]", endpoint, err)
	}
	if u.Scheme != "ssh" {
		return SSHEndpoint{}, fmt.Errorf("docker endpoint %s: not an ssh:// endpoint", endpoint)
	}
	if _, ok := u.User.Password(); ok {
		v := *u
		v.User = url.User(u.User.Username())
		return SSHEndpoint{}, fmt.Errorf("docker endpoint %s: a password in the endpoint is not supported: use a key (ssh-agent or ~/.ssh/config)", v.String())
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return SSHEndpoint{}, fmt.Errorf("docker endpoint %s: a path or query is not allowed: write it as ssh://[user@]host[:port]", endpoint)
	}
	e := SSHEndpoint{User: u.User.Username(), Host: u.Hostname(), Port: u.Port()}
	if e.Host == "" {
		return SSHEndpoint{}, fmt.Errorf("docker endpoint %s: no host: write it as ssh://[user@]host[:port]", endpoint)
	}
	if strings.HasPrefix(e.Host, "-") || strings.HasPrefix(e.User, "-") {
		return SSHEndpoint{}, fmt.Errorf("docker endpoint %s: host and user must not start with '-'", endpoint)
	}
	return e, nil
}
