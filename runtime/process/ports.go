package process

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berthdev/berth/runtime"
)

// A health check that reaches a port proves nothing unless the port is the
// service's: another process may hold it. CheckListener finds the sockets
// listening on the port (sock_diag, else /proc/net/tcp and tcp6) and the
// processes holding them (their /proc/<pid>/fd links), and accepts the
// port only when one of the service's processes holds it.

// listeners returns the inodes of the sockets listening on port, IPv4
// and IPv6: asked of the kernel (sock_diag), or read from /proc/net where
// it cannot answer (a kernel without sock_diag for the family).
func listeners(port int) map[uint64]bool {
	out := map[uint64]bool{}
	for _, f := range []struct {
		family uint8
		proc   string
	}{{unix.AF_INET, "/proc/net/tcp"}, {unix.AF_INET6, "/proc/net/tcp6"}} {
		if diagListening(f.family, port, out) != nil {
			procListening(f.proc, port, out)
		}
	}
	return out
}

// procListening adds the inodes of the sockets listening on port that a
// /proc/net/tcp-format file lists.
func procListening(path string, port int, out map[uint64]bool) {
	file, err := os.Open(path)
	if err != nil {
		return
	}
	defer file.Close()
	sc := bufio.NewScanner(file)
	sc.Scan() // header
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		// sl local_address rem_address st ... inode (field 9)
		if len(fs) < 10 || fs[3] != "0A" {
			continue
		}
		_, hexPort, ok := strings.Cut(fs[1], ":")
		p, err := strconv.ParseUint(hexPort, 16, 32)
		if !ok || err != nil || int(p) != port {
			continue
		}
		if ino, err := strconv.ParseUint(fs[9], 10, 64); err == nil && ino != 0 {
			out[ino] = true
		}
	}
}

// holds says whether pid has one of the socket inodes open.
func holds(pid int, inodes map[uint64]bool) bool {
	dir := procDir(pid) + "/fd"
	d, err := os.Open(dir)
	if err != nil {
		return false
	}
	names, _ := d.Readdirnames(-1)
	d.Close()
	for _, n := range names {
		link, err := os.Readlink(dir + "/" + n)
		if err != nil {
			continue
		}
		if s, ok := strings.CutPrefix(link, "socket:["); ok {
			if ino, err := strconv.ParseUint(strings.TrimSuffix(s, "]"), 10, 64); err == nil && inodes[ino] {
				return true
			}
		}
	}
	return false
}

// CheckListener fails unless a process of the service of h listens on port.
func (r *Runner) CheckListener(_ context.Context, svc *runtime.Service, h runtime.Handle, port int) error {
	inodes := listeners(port)
	if len(inodes) == 0 {
		return fmt.Errorf("nothing listens on port %d", port)
	}
	v := verify(svc, h)
	if !v.running() {
		return fmt.Errorf("%s is not running (%s%s)", svc.Name, v.reason, v.warning)
	}
	// Most often the verified leader holds the port itself: that settles
	// it without a walk of /proc. (Every check of a start used to walk it
	// afresh, one at a time under the runner's lock: 10 services with tcp
	// checks waited for 10 walks of every process's environment.)
	if v.leader && holds(v.h.PID, inodes) {
		return nil
	}
	r.mu.Lock()
	r.scanAt = time.Time{} // the listener may have just been opened: walk afresh
	r.mu.Unlock()
	for _, p := range r.members(v) {
		if holds(p.PID, inodes) {
			return nil
		}
	}
	var holders []string
	for _, p := range liveProcs() {
		if holds(p.PID, inodes) {
			holders = append(holders, describeProc(p.PID))
		}
	}
	who := "a process berth cannot see (another user's, or in another namespace)"
	if len(holders) > 0 {
		who = strings.Join(holders, ", ")
	}
	return fmt.Errorf("port %d answers, but it is held by %s, not by %s: stop that process or give %s another port", port, who, svc.Name, svc.Name)
}
