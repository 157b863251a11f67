// Command readywait times how long a program takes, from its spawn, to
// say "ready" on the descriptor named by BERTH_SUPERVISOR_READY_FD, as
// berth's supervisor does for the command that spawns it; then it sends
// the program TERM and waits for it. It prints the median and the least of
// N spawns in microseconds. hack/bench-spawn.sh runs it on berth's
// supervisor and on hack/startfloor, which answers the same way.
//
//	readywait [-n 30] PROGRAM [ARG...]
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"syscall"
	"time"
)

func main() {
	n := flag.Int("n", 30, "spawns")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: readywait [-n 30] PROGRAM [ARG...]")
		os.Exit(2)
	}
	var took []time.Duration
	for range *n {
		d, err := once(flag.Args())
		if err != nil {
			fmt.Fprintln(os.Stderr, "readywait:", err)
			os.Exit(1)
		}
		took = append(took, d)
	}
	slices.Sort(took)
	fmt.Printf("%d %d\n", took[len(took)/2].Microseconds(), took[0].Microseconds())
}

func once(argv []string) (time.Duration, error) {
	pr, pw, err := os.Pipe()
	if err != nil {
		return 0, err
	}
	defer pr.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.ExtraFiles = []*os.File{pw}
	cmd.Env = append(os.Environ(), "BERTH_SUPERVISOR_READY_FD=3")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		pw.Close()
		return 0, err
	}
	pw.Close()
	line, _ := bufio.NewReader(pr).ReadString('\n')
	d := time.Since(t0)
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	if line != "ready\n" {
		return 0, fmt.Errorf("%s did not say ready (%q)", argv[0], line)
	}
	return d, nil
}
