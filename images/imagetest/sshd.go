package imagetest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/berthdev/berth/hack/testkit"
)

// SSHDPath is where Debian's openssh-server puts the daemon
// (hack/test.sh installs it when missing).
const SSHDPath = "/usr/sbin/sshd"

// SSHD is an sshd started for one test: it listens on 127.0.0.1, lets the
// current user in with Key only, and runs commands on this machine, so
// `docker system dial-stdio` through it reaches the machine's own daemon.
type SSHD struct {
	// Endpoint is ssh://USER@127.0.0.1:PORT.
	Endpoint string
	// Key is an authorised private key; WrongKey is one that is not.
	Key, WrongKey string
}

// BerthSSH is a BERTH_SSH value that logs in with key and ignores the
// user's ssh configuration, agent and known hosts.
func (s *SSHD) BerthSSH(key string) string {
	return "ssh -F /dev/null -i " + key + " -o IdentitiesOnly=yes -o IdentityAgent=none" +
		" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"
}

// StartSSHD runs sshd -D as a subprocess of the test, stopped in Cleanup.
// Without sshd, ssh or ssh-keygen the test is skipped, unless
// BERTH_REQUIRE_DOCKER=1, which makes it a failure.
func StartSSHD(t testing.TB) *SSHD {
	t.Helper()
	requireSSHTools(t)
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	// sshd refuses to start without its privilege separation directory,
	// which the service manager would normally create.
	if os.Geteuid() == 0 {
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	s := &SSHD{Key: sshKeygen(t, dir, "client_key"), WrongKey: sshKeygen(t, dir, "wrong_key")}
	config, port := writeSSHDConfig(t, dir, s.Key)
	runSSHD(t, config)
	s.Endpoint = fmt.Sprintf("ssh://%s@127.0.0.1:%d", u.Username, port)
	return s
}

// requireSSHTools skips (or fails) the test without sshd, ssh or ssh-keygen.
func requireSSHTools(t testing.TB) {
	t.Helper()
	need := func(format string, args ...any) {
		t.Helper()
		testkit.Missing(t, fmt.Sprintf(format, args...), "hack/test.sh installs openssh-server")
	}
	if _, err := os.Stat(SSHDPath); err != nil {
		need("%s is missing", SSHDPath)
	}
	for _, p := range []string{"ssh", "ssh-keygen"} {
		if _, err := exec.LookPath(p); err != nil {
			need("%s is not on PATH", p)
		}
	}
}

// sshKeygen makes an ed25519 key pair dir/name and dir/name.pub.
func sshKeygen(t testing.TB, dir, name string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "berth-test", "-f", p).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	return p
}

// writeSSHDConfig writes, in dir, a host key, the authorised keys (key's
// public half) and an sshd_config listening on a free port of 127.0.0.1;
// it returns the config's path and the port.
func writeSSHDConfig(t testing.TB, dir, key string) (config string, port int) {
	t.Helper()
	hostKey := sshKeygen(t, dir, "host_key")
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	authorized := filepath.Join(dir, "authorized_keys")
	if err := os.WriteFile(authorized, pub, 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port = ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	config = filepath.Join(dir, "sshd_config")
	conf := strings.Join([]string{
		"ListenAddress 127.0.0.1",
		fmt.Sprintf("Port %d", port),
		"HostKey " + hostKey,
		"AuthorizedKeysFile " + authorized,
		"PermitRootLogin prohibit-password",
		"PubkeyAuthentication yes",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"UsePAM no",
		"StrictModes no",
		"PidFile " + filepath.Join(dir, "sshd.pid"),
		"",
	}, "\n")
	if err := os.WriteFile(config, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return config, port
}

// runSSHD starts sshd with config, stopped in Cleanup, and returns once it
// says it listens.
func runSSHD(t testing.TB, config string) {
	t.Helper()
	// Our own pipe for its log, so Wait does not wait for session
	// processes that inherited it.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(SSHDPath, "-D", "-e", "-f", config)
	cmd.Stderr = w
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		w.Close()
		r.Close()
		t.Fatalf("start sshd: %v", err)
	}
	w.Close()
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		<-exited
	})

	var (
		mu  sync.Mutex
		log strings.Builder
	)
	ready := make(chan struct{})
	go func() {
		defer r.Close()
		sc := bufio.NewScanner(r)
		once := sync.Once{}
		for sc.Scan() {
			mu.Lock()
			log.WriteString(sc.Text() + "\n")
			mu.Unlock()
			if strings.HasPrefix(sc.Text(), "Server listening on") {
				once.Do(func() { close(ready) })
			}
		}
	}()
	logText := func() string { mu.Lock(); defer mu.Unlock(); return log.String() }
	select {
	case <-ready:
	case <-exited:
		t.Fatalf("sshd exited at start:\n%s", logText())
	case <-time.After(10 * time.Second):
		t.Fatalf("sshd did not listen within 10s:\n%s", logText())
	}
}
