// Package images owns berth's runtime images and its way into the Docker
// Engine API: finding and reaching the daemon, build contexts, builds through
// the classic builder or BuildKit, the labels that make builds reproducible
// to check, and the current/stale/missing state of each manifest image.
package engine

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/docker/docker/client"
	"github.com/docker/go-connections/tlsconfig"

	"github.com/berthdev/berth/metadata"
)

// Endpoint names a Docker daemon. The zero Endpoint means "from the
// environment": DOCKER_HOST (with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH),
// else the default socket, else the usual rootless sockets.
type Endpoint struct {
	// Host is unix:///path, tcp://host:port or ssh://[user@]host[:port].
	Host string
	TLS  *metadata.TLS
}

// EndpointFor is the endpoint of a manifest host; nil means the environment's.
func EndpointFor(h *metadata.Host) Endpoint {
	if h == nil {
		return Endpoint{}
	}
	return Endpoint{Host: h.Endpoint, TLS: h.TLS}
}

// DefaultSocket is where a rootful daemon listens.
const DefaultSocket = "/var/run/docker.sock"

// pingTimeout bounds the first contact, so an unreachable tcp endpoint fails
// quickly instead of hanging a command.
const pingTimeout = 5 * time.Second

// sshPingTimeout is the first contact through ssh: ssh's own
// ConnectTimeout (10 s) and then the handshake and the remote docker's
// start, so that a slow but working host is not cut off before ssh itself
// would give up (a loaded machine took over 5 s for the whole of it).
const sshPingTimeout = 20 * time.Second

// UnreachableError means no daemon answered at Endpoint.
type UnreachableError struct {
	Endpoint string
	Err      error
}

func (e *UnreachableError) Error() string {
	if strings.HasPrefix(e.Endpoint, "ssh://") {
		return fmt.Sprintf("cannot reach the Docker daemon at %s: %v: check that this ssh command works without prompting (%s sets the command and its options) and that docker runs on that host", e.Endpoint, e.Err, SSHEnv)
	}
	return fmt.Sprintf("cannot reach the Docker daemon at %s: %v: start Docker, or point DOCKER_HOST at a running daemon", e.Endpoint, e.Err)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// NewClient connects to the daemon at ep and negotiates the API version, so
// berth works with old daemons (API 1.41) as well as new ones. It pings the
// daemon once: an unreachable daemon is an *UnreachableError naming it.
func NewClient(ctx context.Context, ep Endpoint) (*Client, error) {
	host, opts, err := clientOptions(ep)
	if err != nil {
		return nil, err
	}
	cli, err := client.NewClientWithOpts(opts...)
	if err != nil {
		return nil, fmt.Errorf("docker endpoint %s: %w", host, err)
	}
	timeout := pingTimeout
	if strings.HasPrefix(host, "ssh://") {
		timeout = sshPingTimeout
	}
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ping, err := cli.Ping(pctx)
	if err != nil {
		cli.Close()
		return nil, &UnreachableError{Endpoint: host, Err: unwrapDial(err, timeout)}
	}
	cli.NegotiateAPIVersionPing(ping)
	return &Client{API: cli, Endpoint: host, Ping: ping}, nil
}

// clientOptions resolves the endpoint to a host and the client options for it.
func clientOptions(ep Endpoint) (string, []client.Opt, error) {
	opts := []client.Opt{client.WithAPIVersionNegotiation()}
	host := ep.Host
	switch {
	case host != "":
		if strings.HasPrefix(host, "ssh://") {
			if ep.TLS != nil {
				return host, nil, fmt.Errorf("docker endpoint %s: tls applies to tcp:// endpoints only: drop tls from the host in berth.yaml", host)
			}
			sshOpts, err := sshOptions(host)
			if err != nil {
				return host, nil, err
			}
			return host, append(opts, sshOpts...), nil
		}
		opts = append(opts, client.WithHost(host))
		if ep.TLS != nil {
			verify := ep.TLS.Verify == nil || *ep.TLS.Verify
			tlsc, err := tlsconfig.Client(tlsconfig.Options{
				CAFile:             ep.TLS.CA,
				CertFile:           ep.TLS.Cert,
				KeyFile:            ep.TLS.Key,
				InsecureSkipVerify: !verify,
				ExclusiveRootPools: ep.TLS.CA != "",
			})
			if err != nil {
				return host, nil, fmt.Errorf("docker endpoint %s: tls: %w: check the ca, cert and key files of the host in berth.yaml", host, err)
			}
			opts = append(opts, client.WithHTTPClient(&http.Client{
				Transport:     &http.Transport{TLSClientConfig: tlsc},
				CheckRedirect: client.CheckRedirect,
			}), client.WithScheme("https"))
		}
	case os.Getenv(client.EnvOverrideHost) != "":
		host = os.Getenv(client.EnvOverrideHost)
		opts = append(opts, client.FromEnv)
	default:
		host = "unix://" + localSocket()
		// FromEnv still brings in DOCKER_API_VERSION and the TLS variables.
		opts = append(opts, client.FromEnv, client.WithHost(host))
	}
	return host, opts, nil
}

// localSocket is the first daemon socket that exists: the default one, then
// the rootless ones. If none exists it is the default, so the error names it.
func localSocket() string {
	candidates := []string{DefaultSocket}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		candidates = append(candidates, filepath.Join(d, "docker.sock"))
	}
	if home, err := os.UserHomeDir(); err == nil {
		candidates = append(candidates, filepath.Join(home, ".docker", "run", "docker.sock"))
	}
	for _, c := range candidates {
		if fi, err := os.Stat(c); err == nil && fi.Mode()&os.ModeSocket != 0 {
			return c
		}
	}
	return DefaultSocket
}

// unwrapDial drops the client's long advice ("Is the docker daemon
// running?") in favour of the cause; the UnreachableError gives the advice.
func unwrapDial(err error, timeout time.Duration) error {
	var sshErr *SSHError
	if errors.As(err, &sshErr) {
		return sshErr
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("no answer within %s", timeout)
	}
	for e := err; e != nil; e = errors.Unwrap(e) {
		var se *os.SyscallError
		if errors.As(e, &se) {
			return se
		}
	}
	return err
}
