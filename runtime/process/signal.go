package process

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sync"

	"golang.org/x/sys/unix"
)

// Every signal the process runner sends goes through sendProc or
// sendGroup, which enforce berth's hard limits whatever a PID file says:
// never PID 0 or 1, never a group of 1 or less, never berth's own process,
// group or session, never another user's process.

// RefusedError says why berth would not signal a process.
type RefusedError struct {
	Target string
	Why    string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("berth never signals %s: %s", e.Target, e.Why)
}

type self struct{ pid, pgrp, sid, uid int }

// me is read once: berth never changes its own process, group, session
// or user, and each signal asked for all four (four system calls).
var me = sync.OnceValue(func() self {
	sid, _ := unix.Getsid(0)
	return self{os.Getpid(), unix.Getpgrp(), sid, os.Geteuid()}
})

// checkProcess says why pid may not be signalled, or nil.
func checkProcess(pid int) error {
	target := fmt.Sprintf("PID %d", pid)
	if pid <= 1 {
		return &RefusedError{target, "PID 0 and 1 are never a service's"}
	}
	m := me()
	switch pid {
	case m.pid, m.pgrp, m.sid:
		return &RefusedError{target, "it is berth's own process, group or session"}
	}
	st, err := readStat(pid)
	if err != nil {
		return err
	}
	if st.PGID == m.pgrp {
		return &RefusedError{target, "it is in berth's own process group"}
	}
	if uid, ok := procUID(pid); !ok || uid != m.uid {
		return &RefusedError{target, "it belongs to another user"}
	}
	return nil
}

// checkGroup says why group pgid may not be signalled, or nil. A group is
// signalled whole only when every live member is this user's; members, if
// not nil, are the group's members as a recent walk found them (the kernel
// itself refuses other users' processes to anyone but root).
func checkGroup(pgid int, members []procStat) error {
	target := fmt.Sprintf("process group %d", pgid)
	if pgid <= 1 {
		return &RefusedError{target, "groups 0 and 1 are never a service's"}
	}
	m := me()
	switch pgid {
	case m.pid, m.pgrp, m.sid:
		return &RefusedError{target, "it is berth's own process, group or session"}
	}
	if m.uid != 0 {
		return nil
	}
	if members == nil {
		members = liveMembers(pgid)
	}
	for _, p := range members {
		if uid, ok := procUID(p.PID); ok && uid != m.uid {
			return &RefusedError{target, fmt.Sprintf("its member %d belongs to another user", p.PID)}
		}
	}
	return nil
}

// sendProc signals pid if it is still the process that started at
// startTime (0 accepts any). Through a pidfd, the check and the signal
// name the same process even if the PID is reused in between.
func sendProc(pid int, startTime uint64, sig unix.Signal) error {
	if err := checkProcess(pid); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	fd, err := unix.PidfdOpen(pid, 0)
	if errors.Is(err, unix.ESRCH) {
		return nil
	}
	if err != nil {
		if !alive(pid, startTime) {
			return nil
		}
		err = unix.Kill(pid, sig)
	} else {
		defer unix.Close(fd)
		if !alive(pid, startTime) {
			return nil
		}
		err = unix.PidfdSendSignal(fd, sig, nil, 0)
	}
	if err != nil && !errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("send %v to process %d: %w", sig, pid, err)
	}
	return nil
}

// sendGroup signals every process of group pgid.
func sendGroup(pgid int, sig unix.Signal, members []procStat) error {
	if err := checkGroup(pgid, members); err != nil {
		return err
	}
	if err := unix.Kill(-pgid, sig); err != nil && !errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("send %v to process group %d: %w", sig, pgid, err)
	}
	return nil
}

// childDefaults keeps the services berth launches from inheriting an
// ignored SIGHUP or SIGINT. Go leaves those two ignored when a program
// starts with them ignored (nohup, a script's background job), and a
// child inherits an ignored signal through exec (Go installs its own
// handler for every other signal but the terminal's job-control ones,
// and resets it in a child): a service then ignored the HUP that
// reloads it, or never stopped on a stop_signal of HUP or INT. So berth
// takes each of the two it inherited ignored into a channel that nobody
// reads: Go's handler is reset in the child, and berth itself still
// ignores the signal.
var childDefaults = sync.OnceFunc(func() {
	var ignored []os.Signal
	for _, s := range []os.Signal{unix.SIGHUP, unix.SIGINT} {
		if signal.Ignored(s) {
			ignored = append(ignored, s)
		}
	}
	if len(ignored) > 0 {
		signal.Notify(make(chan os.Signal, 1), ignored...)
	}
})
