// Command crashwait times a crash and its recovery: it kills PID with
// SIGKILL, waits for it to end (through its pidfd, so the old listener is
// closed), then until PORT accepts a connection on 127.0.0.1 again, and
// prints the microseconds from the kill to the accepted connection.
// hack/bench-supervisor.sh runs it the same way on berth's supervisor and
// on the floor (a shell loop that runs the service again).
//
//	crashwait [-timeout 10s] PID PORT
package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	timeout := flag.Duration("timeout", 10*time.Second, "give up after this long")
	flag.Parse()
	if flag.NArg() != 2 {
		fmt.Fprintln(os.Stderr, "usage: crashwait [-timeout D] PID PORT")
		os.Exit(2)
	}
	pid, err1 := strconv.Atoi(flag.Arg(0))
	_, err2 := strconv.Atoi(flag.Arg(1))
	if err1 != nil || err2 != nil || pid <= 1 {
		fmt.Fprintln(os.Stderr, "crashwait: PID and PORT must be numbers (PID > 1)")
		os.Exit(2)
	}
	pfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		fail("pidfd of %d: %v", pid, err)
	}
	addr := "127.0.0.1:" + flag.Arg(1)
	deadline := time.Now().Add(*timeout)
	t0 := time.Now()
	if err := unix.PidfdSendSignal(pfd, unix.SIGKILL, nil, 0); err != nil {
		fail("kill %d: %v", pid, err)
	}
	fds := []unix.PollFd{{Fd: int32(pfd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, int(time.Until(deadline).Milliseconds()))
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || n == 0 {
			fail("%d did not end: %v", pid, err)
		}
		break
	}
	for {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			fail("%s does not accept again: %v", addr, err)
		}
		time.Sleep(100 * time.Microsecond)
	}
	fmt.Println(time.Since(t0).Microseconds())
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "crashwait: "+format+"\n", args...)
	os.Exit(1)
}
