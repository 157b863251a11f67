package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/docker/cli/cli/connhelper"
	"github.com/docker/cli/cli/connhelper/ssh"
	"github.com/docker/docker/client"

	"github.com/berthdev/berth/metadata"
)

// SSHEnv names the environment variable holding the argv prefix berth runs
// to reach an ssh:// endpoint, split on white space (no quoting). It
// defaults to "ssh"; tests and users add options with it, e.g.
// BERTH_SSH="ssh -i ~/.ssh/lab -o StrictHostKeyChecking=accept-new".
const SSHEnv = "BERTH_SSH"

// SSHTarget is an ssh://[user@]host[:port] endpoint taken apart.
type SSHTarget struct {
	User, Host, Port string
}

// ParseSSH takes apart an ssh:// endpoint. It refuses what ssh cannot be
// given without prompting (a password) and what the docker CLI refuses too
// (a path or a query).
func ParseSSH(endpoint string) (SSHTarget, error) {
	e, err := metadata.ParseSSHEndpoint(endpoint)
	return SSHTarget(e), err
}

// Argv is the command that connects to the daemon behind t: the prefix
// from BERTH_SSH (or "ssh"), then options that keep ssh from ever prompting
// or allocating a terminal, then what docker/cli's ssh helper gives for the
// target (user, port, host and `docker system dial-stdio`, quoted for the
// remote shell). The user's options come first, so ssh (which keeps the
// first value it sees) lets them win; ~/.ssh/config, the agent and
// known_hosts apply as usual.
func (t SSHTarget) Argv() ([]string, error) {
	argv := strings.Fields(os.Getenv(SSHEnv))
	if len(argv) == 0 {
		argv = []string{"ssh"}
	}
	argv = append(argv, "-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-T")
	spec := ssh.Spec{User: t.User, Host: t.Host, Port: t.Port}
	rest, err := spec.Command(nil, "docker", "system", "dial-stdio")
	if err != nil {
		return nil, fmt.Errorf("docker endpoint ssh://%s: %w", t.Host, err)
	}
	return append(argv, rest...), nil
}

// SSHError is a connection through ssh that failed: ssh could not be run,
// or it (or the docker command it ran on the remote host) exited; docker/cli's
// command connection puts ssh's exit status and stderr in Err.
type SSHError struct {
	Argv []string
	Err  error
}

func (e *SSHError) Error() string {
	// On one line: ssh's stderr ends in a newline and may hold several.
	return strings.Join(strings.Fields(e.Err.Error()), " ")
}

func (e *SSHError) Unwrap() error { return e.Err }

// sshOptions are the client options for an ssh:// endpoint: each connection
// is a fresh ssh process, through docker/cli's connection helper.
func sshOptions(endpoint string) ([]client.Opt, error) {
	t, err := ParseSSH(endpoint)
	if err != nil {
		return nil, err
	}
	argv, err := t.Argv()
	if err != nil {
		return nil, err
	}
	helper, err := connhelper.GetCommandConnectionHelper(argv[0], argv[1:]...)
	if err != nil {
		return nil, err
	}
	tr := &http.Transport{}
	return []client.Opt{
		client.WithHTTPClient(&http.Client{Transport: tr, CheckRedirect: client.CheckRedirect}),
		client.WithHost(helper.Host),
		client.WithDialContext(func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := helper.Dialer(ctx, network, addr)
			if err != nil {
				return nil, &SSHError{Argv: argv, Err: fmt.Errorf("%s: %w", strings.Join(argv, " "), err)}
			}
			return newSSHConn(conn, argv), nil
		}),
		// WithHost set a proxy from the environment; the connection is
		// ssh's stdio, and an HTTP proxy has no part in it.
		func(*client.Client) error { tr.Proxy = nil; return nil },
	}, nil
}

// sshConn is docker/cli's command connection with one thing added: a write
// that finds ssh gone reports why it went. The helper puts ssh's exit status
// and stderr in the error of the read that meets the end of ssh's stdout,
// and only there; a write to an ssh that exited fails with a bare "broken
// pipe" (or "file already closed" once the helper has reaped ssh), and which
// of the two the HTTP client reports is a race. So a failed write reads the
// end of the stream itself, or takes the error the client's own read got.
type sshConn struct {
	net.Conn
	argv []string

	closing  atomic.Bool
	failOnce sync.Once
	failed   chan struct{} // closed once fail is set
	fail     error         // the helper's error for an exited ssh
}

func newSSHConn(conn net.Conn, argv []string) *sshConn {
	return &sshConn{Conn: conn, argv: argv, failed: make(chan struct{})}
}

func (c *sshConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	return n, c.record(err)
}

// record keeps the helper's error for an exited ssh (what is neither the end
// of the stream nor a closed pipe) and returns it as an *SSHError.
func (c *sshConn) record(err error) error {
	if err == nil || errors.Is(err, io.EOF) || errors.Is(err, os.ErrClosed) || errors.Is(err, syscall.EPIPE) {
		return err
	}
	se := &SSHError{Argv: c.argv, Err: err}
	c.failOnce.Do(func() { c.fail = se; close(c.failed) })
	return se
}

func (c *sshConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if c.closing.Load() || !(errors.Is(err, syscall.EPIPE) || errors.Is(err, os.ErrClosed)) {
		return n, err
	}
	// ssh closed its stdin, which it does only by exiting: what is left
	// on its stdout ends in the helper's report, unless a read running
	// beside this write already took it (the pipe is then closed).
	var buf [512]byte
	var rerr error
	for rerr == nil {
		_, rerr = c.Read(buf[:])
	}
	var se *SSHError
	if errors.As(rerr, &se) {
		return n, se
	}
	if !errors.Is(rerr, os.ErrClosed) {
		return n, err // ssh exited with status 0: nothing more to say
	}
	// The other read is returning from the helper with the report.
	t := time.NewTimer(2 * time.Second)
	defer t.Stop()
	select {
	case <-c.failed:
		return n, c.fail
	case <-t.C:
		return n, err
	}
}

// CloseWrite half-closes ssh's stdin, which the client does to end an
// attached stream's input.
func (c *sshConn) CloseWrite() error {
	if hc, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return hc.CloseWrite()
	}
	return nil
}

func (c *sshConn) Close() error {
	c.closing.Store(true)
	return c.Conn.Close()
}
