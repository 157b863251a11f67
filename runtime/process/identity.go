package process

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/berthdev/berth/runtime"
)

// A process is a service's only when berth can show it. A berth PID file
// records the environment and a launch token; the token is
// "<dev>:<inode of the environment root>/<service>/<random>", set as
// BERTH_LAUNCH in the service's environment, so the live process (and
// every descendant) shows it in /proc/<pid>/environ. A copy of the
// environment (cp -a) has another inode, so it never claims the
// original's processes; a move within a file system keeps it. A plain
// PID file (the OQTOPUS CLI's) counts only when its process works in the
// environment root and it, or one of its descendants, runs the service's
// command.

func envRoot(svc *runtime.Service) string {
	if svc.Root != "" {
		return svc.Root
	}
	return filepath.Dir(svc.StateDir)
}

// envIdentity is the environment root's device and inode. A status of 100
// services needs it 100 times: one reading serves for identityTTL, so a
// long-lived berth still sees a root that was replaced.
func envIdentity(root string) (string, error) {
	if v, ok := envIdentities.Load(root); ok {
		if e := v.(identityEntry); time.Since(e.at) < identityTTL {
			return e.id, nil
		}
	}
	id, err := readEnvIdentity(root)
	if err == nil {
		envIdentities.Store(root, identityEntry{id, time.Now()})
	}
	return id, err
}

const identityTTL = time.Second

type identityEntry struct {
	id string
	at time.Time
}

var envIdentities sync.Map

func readEnvIdentity(root string) (string, error) {
	fi, err := os.Stat(root)
	if err != nil {
		return "", fmt.Errorf("environment root: %w", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return "", fmt.Errorf("environment root %s: no inode", root)
	}
	return fmt.Sprintf("%d:%d", st.Dev, st.Ino), nil
}

// tokenPrefix is what every launch token of svc in this environment starts with.
func tokenPrefix(svc *runtime.Service) (string, error) {
	id, err := envIdentity(envRoot(svc))
	if err != nil {
		return "", err
	}
	return id + "/" + svc.Name + "/", nil
}

// ownToken says whether tok is a launch token of svc in this environment
// (a copy of the environment does not claim the original's processes).
func ownToken(svc *runtime.Service, tok string) bool {
	prefix, err := tokenPrefix(svc)
	return err == nil && strings.HasPrefix(tok, prefix)
}

func newToken(svc *runtime.Service) (string, error) {
	prefix, err := tokenPrefix(svc)
	if err != nil {
		return "", err
	}
	b := make([]byte, 12)
	rand.Read(b)
	return prefix + hex.EncodeToString(b), nil
}

// verdict is what berth can show about a record.
type verdict struct {
	h runtime.Handle
	// leader says the recorded process is alive and is the service's.
	leader bool
	// survivors are the service's processes left in its group after its
	// leader ended.
	survivors []procStat
	// reason says why nothing of the service runs; warning why a live
	// process is not trusted to be the service's (nothing is signalled).
	reason, warning string
}

func (v verdict) running() bool { return v.leader || len(v.survivors) > 0 }

// verify checks a record against the live system, reading only the
// recorded process (and, when its leader is gone, its group's members).
func verify(svc *runtime.Service, h runtime.Handle) verdict {
	if h.Token != "" {
		return verifyToken(svc, h)
	}
	return verifyPlain(svc, h)
}

func verifyToken(svc *runtime.Service, h runtime.Handle) verdict {
	v := verdict{h: h}
	prefix, err := tokenPrefix(svc)
	if err != nil {
		v.reason = err.Error()
		return v
	}
	if !strings.HasPrefix(h.Token, prefix) {
		v.warning = fmt.Sprintf("%s was written by the environment at %s, not this one (a copy of it?): its processes are that environment's and are never signalled from here", pidRel(svc), h.Env)
		return v
	}
	if h.PID == 0 {
		// A pending record: its launch was cut short before the PID was
		// written. The service is whatever carries its token.
		v.reason = "its launch was cut short before its PID was recorded, and nothing carrying its launch token runs"
		v.survivors = pendingCarriers(h)
		return v
	}
	st, err := readStat(h.PID)
	if err == nil && st.State != 'Z' && st.State != 'X' && st.StartTime == h.StartTime {
		tok, err := recordedToken(h.PID, h.StartTime)
		switch {
		case err == nil && tok == "" && !alive(h.PID, h.StartTime):
			// It ended while its environment was read: exited, below.
			goto exited
		case err != nil:
			v.warning = fmt.Sprintf("cannot read the environment of PID %d to show it is %s's: %v; nothing is signalled", h.PID, svc.Name, err)
		case tok != h.Token:
			v.warning = fmt.Sprintf("PID %d does not carry the launch token of %s: it is not the service's and is never signalled", h.PID, svc.Name)
		default:
			v.leader = true
			if v.h.StartedAt.IsZero() {
				v.h.StartedAt = startedAt(st.StartTime)
			}
		}
		return v
	}
exited:
	v.reason = fmt.Sprintf("process %d has exited", h.PID)
	if h.PGID > 1 && groupAlive(h.PGID) {
		for _, m := range liveMembers(h.PGID) {
			if tok, _ := launchToken(m.PID); tok == h.Token {
				v.survivors = append(v.survivors, m)
			}
		}
	}
	return v
}

// tokenCarriers are this user's live processes carrying token.
// launchSettle bounds how long the launch of a pending record may still be
// completing. A berth killed between fork and exec leaves a child that
// carries the launch token only once its exec is done: until then its
// /proc environment reads empty (or berth's own). Taking "nothing carries
// the token" at once for "never ran" let a stop drop the record moments
// before the service began to run with none.
const launchSettle = time.Second

// pendingCarriers finds what carries a pending record's token, looking
// again for as long as the record is younger than launchSettle.
func pendingCarriers(h runtime.Handle) []procStat {
	for {
		c := tokenCarriers(h.Token)
		if len(c) > 0 || h.StartedAt.IsZero() || time.Since(h.StartedAt) >= launchSettle {
			return c
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func tokenCarriers(token string) []procStat {
	var out []procStat
	uid := os.Geteuid()
	for _, p := range liveProcs() {
		if u, ok := procUID(p.PID); ok && u == uid {
			if tok, _ := launchToken(p.PID); tok == token {
				out = append(out, p)
			}
		}
	}
	return out
}

func pidRel(svc *runtime.Service) string {
	return filepath.Join(filepath.Base(svc.StateDir), svc.Name+pidSuffix)
}

// verifyPlain checks a record without a launch token: the OQTOPUS CLI's
// plain PID file, or one written by an older berth.
func verifyPlain(svc *runtime.Service, h runtime.Handle) verdict {
	v := verdict{h: h}
	st, err := readStat(h.PID)
	if err != nil || st.State == 'Z' || st.State == 'X' {
		v.reason = fmt.Sprintf("process %d has exited", h.PID)
		return v
	}
	if h.StartTime != 0 && st.StartTime != h.StartTime {
		v.reason = fmt.Sprintf("PID %d now belongs to another process", h.PID)
		return v
	}
	if err := checkProcess(h.PID); err != nil {
		v.warning = fmt.Sprintf("%s names PID %d, which is not %s's: %v", pidRel(svc), h.PID, svc.Name, err)
		return v
	}
	root := envRoot(svc)
	if cwd := procCwd(h.PID); !sameDir(cwd, root) {
		v.warning = fmt.Sprintf("%s names PID %d, which works in %q, not in the environment root %s: not %s's, nothing is signalled", pidRel(svc), h.PID, cwd, root, svc.Name)
		return v
	}
	want := svc.Argv
	if len(want) == 0 && svc.CommandOf != nil {
		want, err = svc.CommandOf()
	}
	if len(want) == 0 {
		v.warning = fmt.Sprintf("%s names PID %d, but the command of %s is not known here (%v), so berth cannot show it is the service: nothing is signalled", pidRel(svc), h.PID, svc.Name, err)
		return v
	}
	if !runsCommand(recordedCmdline(h.PID, st.StartTime), want) && len(matchingDescendants(h.PID, want, liveProcs())) == 0 {
		v.warning = fmt.Sprintf("%s names PID %d, which does not run the command of %s (nor does any process it started): not the service's, nothing is signalled", pidRel(svc), h.PID, svc.Name)
		return v
	}
	v.h.PGID, v.h.StartTime, v.leader = st.PGID, st.StartTime, true
	if v.h.StartedAt.IsZero() {
		v.h.StartedAt = startedAt(st.StartTime)
	}
	return v
}

// runsCommand says whether a process's argv is the service's command: the
// same arguments (the program compared by name), or the command's last
// arguments run by an interpreter it started (uv run ... python -m M -c X
// leaves python running "-m M -c X").
func runsCommand(argv, want []string) bool {
	if len(argv) == 0 || len(want) == 0 {
		return false
	}
	if len(argv) == len(want) && filepath.Base(argv[0]) == filepath.Base(want[0]) && slices.Equal(argv[1:], want[1:]) {
		return true
	}
	args := argv[1:]
	return len(args) >= 2 && len(args) < len(want) && slices.Equal(args, want[len(want)-len(args):])
}

// descendants lists the processes below pid in procs.
func descendants(pid int, procs []procStat) []procStat {
	children := map[int][]procStat{}
	for _, p := range procs {
		children[p.PPID] = append(children[p.PPID], p)
	}
	var out []procStat
	queue := []int{pid}
	for len(queue) > 0 {
		for _, c := range children[queue[0]] {
			out = append(out, c)
			queue = append(queue, c.PID)
		}
		queue = queue[1:]
	}
	return out
}

func matchingDescendants(pid int, want []string, procs []procStat) []procStat {
	var out []procStat
	for _, d := range descendants(pid, procs) {
		if runsCommand(recordedCmdline(d.PID, d.StartTime), want) {
			out = append(out, d)
		}
	}
	return out
}

// checkGarbage refuses a launch over a PID file berth cannot read unless
// the service's processes are shown to be gone: nothing in this
// environment carries a launch token of the service, and no process works
// in the environment root running its command. It walks /proc, but only
// when such a file is found.
func checkGarbage(svc *runtime.Service) error {
	_, err := readPIDFile(pidPath(svc))
	var g *garbageError
	if !errors.As(err, &g) {
		return nil
	}
	prefix, err := tokenPrefix(svc)
	if err != nil {
		return err
	}
	root, uid := envRoot(svc), os.Geteuid()
	var left []procStat
	for _, p := range liveProcs() {
		if u, ok := procUID(p.PID); !ok || u != uid || p.PID == os.Getpid() {
			continue
		}
		if tok, _ := launchToken(p.PID); strings.HasPrefix(tok, prefix) ||
			(sameDir(procCwd(p.PID), root) && runsCommand(cmdline(p.PID), svc.Argv)) {
			left = append(left, p)
		}
	}
	if len(left) == 0 {
		return nil
	}
	return fmt.Errorf("%s is not a PID file berth can read (%v) and processes of %s still run: %s; stop them, then remove %s and start again",
		g.path, g.err, svc.Name, strings.Join(describeAll(left), ", "), g.path)
}
