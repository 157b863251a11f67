// Package supervisor owns the environment's supervisor: one long-lived
// berth process per environment (berth internal supervise) that launches
// the detached host services, is their parent and the subreaper of their
// descendants, sees every exit through its children's waits and pidfds,
// restarts by policy, stops dependents of a service that will not come
// back, and records what happened (run records and the event log in the
// environment's .berth directory). Commands reach it over a Unix socket
// (Client, and Runner, a runtime.Runner that routes host-process launches
// through it); when it does not run they act directly, as before.
package supervisor

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/berthdev/berth/metadata"
)

// Paths are the supervisor's files in an environment.
type Paths struct {
	Root string
	// Dir is $ENV_ROOT/.berth.
	Dir    string
	Socket string
	// Lock is held by the running supervisor for its whole life (flock),
	// so two never serve one environment; Spawn serialises spawns.
	Lock, Spawn string
	// PID records the running supervisor (JSON: pid, version).
	PID string
	// Log is the supervisor's own output.
	Log string
	// Runs holds one run record per service; Events is the event log.
	Runs, Events string
}

// PathsOf returns the supervisor's paths for the environment at root.
func PathsOf(root string) Paths {
	dir := filepath.Join(root, metadata.StateDirName)
	return Paths{Root: root, Dir: dir, Socket: filepath.Join(dir, "supervisor.sock"),
		Lock: filepath.Join(dir, "supervisor.lock"), Spawn: filepath.Join(dir, "spawn.lock"),
		PID: filepath.Join(dir, "supervisor.pid"), Log: filepath.Join(dir, "supervisor.log"),
		Runs: filepath.Join(dir, "run"), Events: filepath.Join(dir, "events.jsonl")}
}

// maxSocketPath is what fits in sockaddr_un.sun_path with its NUL.
const maxSocketPath = 107

// socketAddr returns a path for the socket that the kernel accepts: the
// path itself when it is short enough, else the same file reached through
// /proc/self/fd/N/, N an O_PATH descriptor of its directory, which is
// short whatever the environment's depth. done closes the descriptor.
func socketAddr(path string) (addr string, done func(), err error) {
	if len(path) <= maxSocketPath {
		return path, func() {}, nil
	}
	fd, err := unix.Open(filepath.Dir(path), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", nil, fmt.Errorf("supervisor socket directory: %w", err)
	}
	return "/proc/self/fd/" + strconv.Itoa(fd) + "/" + filepath.Base(path), func() { unix.Close(fd) }, nil
}

// listen binds the socket at path, mode 0600.
func listen(path string) (*net.UnixListener, error) {
	addr, done, err := socketAddr(path)
	if err != nil {
		return nil, err
	}
	defer done()
	os.Remove(path) // a stale socket of a killed supervisor: the lock says none runs
	old := unix.Umask(0o177)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: addr, Net: "unix"})
	unix.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("supervisor socket %s: %w", path, err)
	}
	ln.SetUnlinkOnClose(false)
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}

// dial connects to the socket at path.
func dial(path string) (*net.UnixConn, error) {
	addr, done, err := socketAddr(path)
	if err != nil {
		return nil, err
	}
	defer done()
	return net.DialUnix("unix", nil, &net.UnixAddr{Name: addr, Net: "unix"})
}

// peerUID is the uid of the process at the other end of c.
func peerUID(c *net.UnixConn) (int, int, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return 0, 0, err
	}
	var cred *unix.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return 0, 0, err
	}
	if cerr != nil {
		return 0, 0, cerr
	}
	return int(cred.Uid), int(cred.Pid), nil
}
