package engine_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/berthdev/berth/hack/testkit"
	"github.com/berthdev/berth/images/engine"
	"github.com/berthdev/berth/images/imagetest"
)

func TestParseSSH(t *testing.T) {
	tests := []struct {
		in      string
		want    engine.SSHTarget
		wantErr string
	}{
		{"ssh://lab", engine.SSHTarget{Host: "lab"}, ""},
		{"ssh://me@lab.example.com:2222", engine.SSHTarget{User: "me", Host: "lab.example.com", Port: "2222"}, ""},
		{"ssh://root@127.0.0.1/", engine.SSHTarget{User: "root", Host: "127.0.0.1"}, ""},
		{"ssh://[::1]:22", engine.SSHTarget{Host: "::1", Port: "22"}, ""},
		{"ssh://me:secret@lab", engine.SSHTarget{}, "password in the endpoint"},
		{"ssh://lab/var/run/docker.sock", engine.SSHTarget{}, "path or query"},
		{"ssh://lab?socket=x", engine.SSHTarget{}, "path or query"},
		{"ssh://", engine.SSHTarget{}, "no host"},
		{"ssh://-oProxyCommand=x", engine.SSHTarget{}, "must not start with '-'"},
		{"tcp://lab:2375", engine.SSHTarget{}, "not an ssh:// endpoint"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := engine.ParseSSH(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseSSH(%q) = %v, %v; want error with %q", tt.in, got, err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Errorf("error shows the password: %v", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseSSH(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestSSHArgv(t *testing.T) {
	// The remote command is one argument, quoted for the remote shell
	// (docker/cli's ssh helper does it).
	tail := []string{"docker system dial-stdio"}
	opts := []string{"-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-T"}
	cat := func(parts ...[]string) []string {
		var out []string
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	tests := []struct {
		name, env string
		target    engine.SSHTarget
		want      []string
	}{
		{"default", "", engine.SSHTarget{Host: "lab"}, cat([]string{"ssh"}, opts, []string{"--", "lab"}, tail)},
		{"user and port", "", engine.SSHTarget{User: "me", Host: "lab", Port: "2222"},
			cat([]string{"ssh"}, opts, []string{"-l", "me", "-p", "2222", "--", "lab"}, tail)},
		{"BERTH_SSH prefix", "  /opt/ssh  -i key\t-o X=y ", engine.SSHTarget{Host: "lab"},
			cat([]string{"/opt/ssh", "-i", "key", "-o", "X=y"}, opts, []string{"--", "lab"}, tail)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(engine.SSHEnv, tt.env)
			if got, err := tt.target.Argv(); err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Argv() = %q, %v\nwant %q", got, err, tt.want)
			}
		})
	}
}

// writeScript writes an executable shell script standing in for ssh.
func writeScript(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSSHDialFailures: whatever ssh says on stderr when it fails is in the
// error, with the endpoint, and it comes back quickly.
func TestSSHDialFailures(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, berthSSH string
		want           []string
	}{
		{"no docker on the remote",
			writeScript(t, dir, "nodocker", "echo 'bash: line 1: docker: command not found' >&2\nexit 127\n"),
			[]string{"docker: command not found", "exit status 127"}},
		{"ssh refused",
			writeScript(t, dir, "denied", "echo 'me@lab: Permission denied (publickey).' >&2\nexit 255\n"),
			[]string{"Permission denied (publickey)", "exit status 255"}},
		{"no ssh program", filepath.Join(dir, "no-such-ssh"), []string{"no-such-ssh", "BERTH_SSH"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(engine.SSHEnv, tt.berthSSH)
			ep := "ssh://me@lab:2222"
			start := time.Now()
			_, err := engine.NewClient(context.Background(), engine.Endpoint{Host: ep})
			var ue *engine.UnreachableError
			if !errors.As(err, &ue) || ue.Endpoint != ep {
				t.Fatalf("NewClient: %v; want an UnreachableError for %s", err, ep)
			}
			t.Log(err)
			for _, w := range append(tt.want, ep, "-l me -p 2222 -- lab docker system dial-stdio") {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("failure took %s", d)
			}
		})
	}
}

// TestSSHConnectionsEndWithClient uses a stand-in ssh that runs the local
// docker's dial-stdio: requests work, and every ssh process started is gone
// once the client is closed.
func TestSSHConnectionsEndWithClient(t *testing.T) {
	if _, err := os.Stat(engine.DefaultSocket); err != nil {
		t.Skip("skipping: the stand-in ssh runs docker against " + engine.DefaultSocket + ", which is absent")
	}
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("skipping: no docker command for the stand-in ssh to run")
	}
	c0, err := imagetest.Connect()
	imagetest.Require(t, c0, err).Close()

	dir := t.TempDir()
	pids := filepath.Join(dir, "pids")
	fake := writeScript(t, dir, "ssh", `echo $$ >> `+pids+`
echo "$@" > `+filepath.Join(dir, "args")+`
unset DOCKER_HOST
exec docker system dial-stdio
`)
	t.Setenv(engine.SSHEnv, fake)
	// Through Clients, as berth's commands reach a manifest host.
	cs := &engine.Clients{Endpoint: func(host string) (engine.Endpoint, error) {
		return engine.Endpoint{Host: "ssh://me@" + host}, nil
	}}
	c, err := cs.Get(context.Background(), "lab")
	if err != nil {
		t.Fatal(err)
	}
	// Two requests at once: two connections, two ssh processes.
	errc := make(chan error, 2)
	for range 2 {
		go func() {
			_, err := c.ContainerList(context.Background(), container.ListOptions{Limit: 1})
			errc <- err
		}()
	}
	for range 2 {
		if err := <-errc; err != nil {
			t.Fatalf("a request through the stand-in ssh: %v", err)
		}
	}
	args, _ := os.ReadFile(filepath.Join(dir, "args"))
	if got := strings.TrimSpace(string(args)); got != "-o BatchMode=yes -o ConnectTimeout=10 -T -l me -- lab docker system dial-stdio" {
		t.Errorf("ssh ran with %q", got)
	}
	cs.Close()
	b, _ := os.ReadFile(pids)
	list := strings.Fields(string(b))
	if len(list) == 0 {
		t.Fatal("no ssh process was started")
	}
	testkit.Eventually(t, 5*time.Second, func() error {
		for _, s := range list {
			if pid, _ := strconv.Atoi(s); syscall.Kill(pid, 0) == nil {
				return fmt.Errorf("ssh process %d still runs after the client was closed", pid)
			}
		}
		return nil
	})
}

// TestSSHEndpoint reaches the machine's daemon through a real sshd.
func TestSSHEndpoint(t *testing.T) {
	if _, err := os.Stat(engine.DefaultSocket); err != nil {
		t.Skip("skipping: sshd's docker reaches " + engine.DefaultSocket + ", which is absent")
	}
	c0, err := imagetest.Connect()
	imagetest.Require(t, c0, err).Close()
	sshd := imagetest.StartSSHD(t)

	// ssh keeps the first value of an option: these come before the
	// test's StrictHostKeyChecking=no.
	known := filepath.Join(t.TempDir(), "known_hosts")
	os.WriteFile(known, nil, 0o600)
	strict := "ssh -o StrictHostKeyChecking=yes -o UserKnownHostsFile=" + known + " " +
		strings.TrimPrefix(sshd.BerthSSH(sshd.Key), "ssh ")
	tests := []struct {
		name, berthSSH string
		wantErr        []string
	}{
		{"authorised key", sshd.BerthSSH(sshd.Key), nil},
		{"wrong key", sshd.BerthSSH(sshd.WrongKey), []string{"Permission denied", "exit status 255"}},
		{"unknown host key", strict, []string{"Host key verification failed", "exit status 255"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(engine.SSHEnv, tt.berthSSH)
			start := time.Now()
			c, err := engine.NewClient(context.Background(), engine.Endpoint{Host: sshd.Endpoint})
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("NewClient(%s): %v", sshd.Endpoint, err)
				}
				defer c.Close()
				if c.Endpoint != sshd.Endpoint || c.Ping.APIVersion == "" {
					t.Errorf("client: endpoint %q, ping %+v", c.Endpoint, c.Ping)
				}
				if _, err := c.ServerVersion(context.Background()); err != nil {
					t.Errorf("version through ssh: %v", err)
				}
				return
			}
			if err == nil {
				c.Close()
				t.Fatal("NewClient with a wrong key succeeded")
			}
			t.Log(err)
			for _, w := range append(tt.wantErr, sshd.Endpoint) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("failure took %s", d)
			}
		})
	}
}

// BenchmarkNewClient is the cost of reaching the daemon (connect and ping)
// on the local socket and through ssh to the same daemon: every new
// connection to an ssh:// endpoint is a new ssh process and handshake.
func BenchmarkNewClient(b *testing.B) {
	c0, err := imagetest.Connect()
	imagetest.Require(b, c0, err).Close()
	sshd := imagetest.StartSSHD(b)
	plain := sshd.BerthSSH(sshd.Key)
	// What a user gets with ControlMaster in ~/.ssh/config: one handshake,
	// then each connection is a session on the shared master.
	control := filepath.Join(b.TempDir(), "cm")
	shared := plain + " -o ControlMaster=auto -o ControlPersist=60 -o ControlPath=" + control
	b.Cleanup(func() {
		exec.Command("ssh", "-o", "ControlPath="+control, "-O", "exit", "127.0.0.1").Run()
	})
	for _, bc := range []struct{ name, host, berthSSH string }{
		{"unix", "unix://" + engine.DefaultSocket, ""},
		{"ssh", sshd.Endpoint, plain},
		{"ssh-controlmaster", sshd.Endpoint, shared},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.Setenv(engine.SSHEnv, bc.berthSSH)
			for b.Loop() {
				c, err := engine.NewClient(context.Background(), engine.Endpoint{Host: bc.host})
				if err != nil {
					b.Fatal(err)
				}
				c.Close()
			}
		})
	}
}
