package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"

	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/docker/docker/client"

	"github.com/berthdev/berth/metadata"
)

// SSHEnv names the environment variable holding the argv prefix berth runs
// to reach an ssh:// endpoint, split on white space (no quoting). It
// defaults to "ssh"; tests and users add options with it, e.g.
// BERTH_SSH="ssh -i ~/.ssh/lab -o StrictHostKeyChecking=accept-new".
const SSHEnv = "BERTH_SSH"

// sshDialHost is the host name the client puts in its requests: the
// connection is ssh's stdin and stdout, so no name is ever resolved.
const sshDialHost = "http://docker.example.com"

// sshStderrMax bounds how much of ssh's stderr is kept for an error.
const sshStderrMax = 4096

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
// from BERTH_SSH (or "ssh"), then options that keep ssh from ever prompting,
// then `docker system dial-stdio` run on the remote host. The user's options
// come first, so ssh (which keeps the first value it sees) lets them win;
// ~/.ssh/config, the agent and known_hosts apply as usual.
func (t SSHTarget) Argv() []string {
	argv := strings.Fields(os.Getenv(SSHEnv))
	if len(argv) == 0 {
		argv = []string{"ssh"}
	}
	argv = append(argv, "-o", "BatchMode=yes", "-o", "ConnectTimeout=10")
	if t.User != "" {
		argv = append(argv, "-l", t.User)
	}
	if t.Port != "" {
		argv = append(argv, "-p", t.Port)
	}
	return append(argv, "--", t.Host, "docker", "system", "dial-stdio")
}

// SSHError is a connection through ssh that failed: ssh (or the docker
// command it ran on the remote host) exited and said why on its stderr.
type SSHError struct {
	Argv   []string
	Err    error
	Stderr string
}

func (e *SSHError) Error() string {
	// ssh's message, on one line.
	msg := strings.Join(strings.Fields(e.Stderr), " ")
	if msg == "" {
		return fmt.Sprintf("%s: %v", strings.Join(e.Argv, " "), e.Err)
	}
	return fmt.Sprintf("%s: %v: %s", strings.Join(e.Argv, " "), e.Err, msg)
}

func (e *SSHError) Unwrap() error { return e.Err }

// sshOptions are the client options for an ssh:// endpoint: a transport
// whose every connection is a fresh ssh process.
func sshOptions(endpoint string) ([]client.Opt, error) {
	t, err := ParseSSH(endpoint)
	if err != nil {
		return nil, err
	}
	argv := t.Argv()
	tr := &http.Transport{}
	return []client.Opt{
		client.WithHTTPClient(&http.Client{Transport: tr, CheckRedirect: client.CheckRedirect}),
		client.WithHost(sshDialHost),
		client.WithDialContext(func(ctx context.Context, _, _ string) (net.Conn, error) {
			return dialSSH(ctx, argv)
		}),
		// WithHost set a proxy from the environment; the connection is
		// ssh's stdio, and an HTTP proxy has no part in it.
		func(*client.Client) error { tr.Proxy = nil; return nil },
	}, nil
}

// sshConn is a connection whose two directions are the stdin and stdout of
// an ssh process. Closing it kills the process.
type sshConn struct {
	argv   []string
	cmd    *exec.Cmd
	stdin  *os.File // our end of ssh's stdin
	stdout *os.File // our end of ssh's stdout
	stderr *tailBuffer

	exited     chan struct{} // closed once cmd.Wait returned
	waitErr    error
	stderrRead chan struct{} // closed once all of ssh's stderr is read

	closeOnce sync.Once
	closed    chan struct{}
}

// dialSSH starts one ssh process. It returns once the process runs: ssh's
// own failures (no route, refused key, no docker on the remote) arrive on
// the first read, as an *SSHError carrying ssh's stderr.
func dialSSH(ctx context.Context, argv []string) (net.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		for _, f := range []*os.File{inR, inW, outR, outW} {
			f.Close()
		}
		return nil, err
	}
	c := &sshConn{
		argv: argv, stdin: inW, stdout: outR, stderr: &tailBuffer{max: sshStderrMax},
		exited: make(chan struct{}), stderrRead: make(chan struct{}), closed: make(chan struct{}),
	}
	// Not CommandContext: the connection outlives the dial's context
	// (the transport keeps it for later requests); Close ends it.
	cmd := exec.Command(argv[0], argv[1:]...)
	// All three are files, so Wait waits for ssh alone: a ControlMaster
	// that ssh forks keeps its stderr open for as long as it persists.
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, errW
	// A process group of its own: Ctrl-C at the terminal is for berth (which
	// forwards it to a foreground container through this very connection),
	// not for ssh.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	c.cmd = cmd
	err = cmd.Start()
	inR.Close()
	outW.Close()
	errW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		errR.Close()
		return nil, &SSHError{Argv: argv, Err: err}
	}
	go func() {
		io.Copy(c.stderr, errR)
		errR.Close()
		close(c.stderrRead)
	}()
	go func() {
		c.waitErr = cmd.Wait()
		close(c.exited)
	}()
	return c, nil
}

// failure is the error for a direction that ended: ssh's exit and stderr
// when it failed, else def.
func (c *sshConn) failure(def error) error {
	select {
	case <-c.closed:
		return def
	default:
	}
	// stdout ends when ssh exits; give it a moment to be reaped.
	t := time.NewTimer(2 * time.Second)
	defer t.Stop()
	select {
	case <-c.exited:
	case <-c.closed:
		return def
	case <-t.C:
		return def
	}
	if c.waitErr == nil {
		return def
	}
	// What ssh wrote before it exited may still be in the pipe.
	select {
	case <-c.stderrRead:
	case <-t.C:
	}
	return &SSHError{Argv: c.argv, Err: c.waitErr, Stderr: c.stderr.String()}
}

func (c *sshConn) Read(p []byte) (int, error) {
	n, err := c.stdout.Read(p)
	if errors.Is(err, io.EOF) {
		err = c.failure(io.EOF)
	}
	return n, err
}

func (c *sshConn) Write(p []byte) (int, error) {
	n, err := c.stdin.Write(p)
	if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
		err = c.failure(err)
	}
	return n, err
}

// CloseWrite ends ssh's stdin, which the client uses to half-close an
// attached stream.
func (c *sshConn) CloseWrite() error { return c.stdin.Close() }

func (c *sshConn) Close() error {
	c.closeOnce.Do(func() {
		close(c.closed)
		c.stdin.Close()
		c.stdout.Close()
		c.cmd.Process.Kill()
	})
	return nil
}

func (c *sshConn) LocalAddr() net.Addr  { return sshAddr("berth") }
func (c *sshConn) RemoteAddr() net.Addr { return sshAddr(strings.Join(c.argv, " ")) }

func (c *sshConn) SetDeadline(t time.Time) error {
	return errors.Join(c.stdin.SetWriteDeadline(t), c.stdout.SetReadDeadline(t))
}
func (c *sshConn) SetReadDeadline(t time.Time) error  { return c.stdout.SetReadDeadline(t) }
func (c *sshConn) SetWriteDeadline(t time.Time) error { return c.stdin.SetWriteDeadline(t) }

type sshAddr string

func (a sshAddr) Network() string { return "ssh" }
func (a sshAddr) String() string  { return string(a) }

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) > b.max {
		b.buf = append(b.buf[:0], b.buf[len(b.buf)-b.max:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
