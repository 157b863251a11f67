// Command testsvc plays a service in berth's tests and benchmarks: ready at
// once or after a delay, exits on TERM or ignores it, forks a grandchild,
// exits at once with a given code, prints lines, and listens on HTTP or TCP
// for health checks.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

type lines []string

func (l *lines) String() string     { return strings.Join(*l, ",") }
func (l *lines) Set(v string) error { *l = append(*l, v); return nil }

// options are the flags: what the service is to do.
type options struct {
	print, env                             lines
	exitCode, onInt, dieCode               int
	killSelf, childFile, httpAddr, tcpAddr string
	ignoreTerm, fork, childTerm, childSid  bool
	isChild, echoStdin, printTTY           bool
	readyAfter, dieAfter, tick             time.Duration
}

func parseFlags() *options {
	o := &options{}
	flag.IntVar(&o.exitCode, "exit", -1, "exit at once with this code (after printing)")
	flag.StringVar(&o.killSelf, "kill-self", "", "end by this signal (INT, TERM, KILL, ...) after printing")
	flag.BoolVar(&o.ignoreTerm, "ignore-term", false, "ignore SIGTERM")
	flag.BoolVar(&o.fork, "fork", false, "start a grandchild that sleeps until signalled")
	flag.StringVar(&o.childFile, "child-pid-file", "", "write the grandchild's PID here")
	flag.BoolVar(&o.childTerm, "child-ignore-term", false, "the grandchild ignores SIGTERM")
	flag.BoolVar(&o.childSid, "child-setsid", false, "the grandchild leaves the process group (setsid)")
	flag.DurationVar(&o.readyAfter, "ready-after", 0, "wait this long before listening and printing ready")
	flag.DurationVar(&o.dieAfter, "die-after", 0, "print \"dying\" and exit with code --die-code this long after ready")
	flag.IntVar(&o.dieCode, "die-code", 5, "the exit code of --die-after")
	flag.StringVar(&o.httpAddr, "http", "", "serve HTTP on ADDR (GET /health answers 200)")
	flag.StringVar(&o.tcpAddr, "tcp", "", "accept TCP connections on ADDR")
	flag.BoolVar(&o.isChild, "grandchild", false, "internal: be the grandchild")
	flag.BoolVar(&o.printTTY, "print-tty", false, "first print \"tty: true\" or \"tty: false\": is stdin a terminal?")
	flag.BoolVar(&o.echoStdin, "echo-stdin", false, "after ready, read one line from stdin, print \"got LINE\" and exit 0")
	flag.DurationVar(&o.tick, "tick", 0, "after ready, print \"tick N\" at this interval")
	flag.IntVar(&o.onInt, "on-int", -1, "on SIGINT, print \"got INT\" and exit with this code (PID 1 in a container ignores an unhandled INT)")
	flag.Var(&o.print, "print", "print this line on stdout (repeatable)")
	flag.Var(&o.env, "print-env", "print NAME=value of this variable, or NAME unset (repeatable)")
	flag.Parse()
	return o
}

func main() {
	if filepath.Base(os.Args[0]) == "mysql" {
		os.Exit(mysqlClient(os.Args[1:]))
	}
	o := parseFlags()
	if o.ignoreTerm {
		signal.Ignore(syscall.SIGTERM)
	}
	if o.isChild {
		sleepForever()
	}
	if o.onInt >= 0 {
		exitOnInt(o.onInt)
	}
	if o.printTTY {
		_, err := unix.IoctlGetTermios(0, unix.TCGETS)
		fmt.Printf("tty: %v\n", err == nil)
	}
	printLines(o)
	if o.killSelf != "" {
		sig := map[string]syscall.Signal{"INT": syscall.SIGINT, "TERM": syscall.SIGTERM, "KILL": syscall.SIGKILL, "HUP": syscall.SIGHUP, "QUIT": syscall.SIGQUIT}[o.killSelf]
		signal.Reset(sig)
		syscall.Kill(os.Getpid(), sig)
		sleepForever()
	}
	if o.exitCode >= 0 {
		os.Exit(o.exitCode)
	}
	if o.fork {
		forkGrandchild(o)
	}
	time.Sleep(o.readyAfter)
	if o.httpAddr != "" {
		serveHTTP(o.httpAddr)
	}
	if o.tcpAddr != "" {
		serveTCP(o.tcpAddr)
	}
	fmt.Println("ready")
	afterReady(o)
	sleepForever()
}

// printLines prints the -print lines, then the -print-env variables and the
// working directory.
func printLines(o *options) {
	for _, l := range o.print {
		fmt.Println(l)
	}
	for _, k := range o.env {
		if v, ok := os.LookupEnv(k); ok {
			fmt.Printf("%s=%s\n", k, v)
		} else {
			fmt.Printf("%s unset\n", k)
		}
	}
	if wd, err := os.Getwd(); err == nil && len(o.env) > 0 {
		fmt.Printf("cwd=%s\n", wd)
	}
}

// forkGrandchild starts a copy of itself that sleeps until signalled.
func forkGrandchild(o *options) {
	args := []string{"-grandchild"}
	if o.childTerm {
		args = append(args, "-ignore-term")
	}
	c := exec.Command(os.Args[0], args...)
	c.Stdout, c.Stderr = os.Stdout, os.Stderr
	if o.childSid {
		c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	}
	if err := c.Start(); err != nil {
		fail(err)
	}
	if o.childFile != "" {
		if err := os.WriteFile(o.childFile, []byte(fmt.Sprint(c.Process.Pid)), 0o644); err != nil {
			fail(err)
		}
	}
}

// serveHTTP answers GET /health with 200 on addr.
func serveHTTP(addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fail(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/health", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	go http.Serve(ln, mux)
}

// serveTCP accepts connections on addr and closes them.
func serveTCP(addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fail(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
}

// afterReady does what the service does once ready: die, echo a line of
// stdin, or tick; it returns only when told none of these.
func afterReady(o *options) {
	if o.dieAfter > 0 {
		// Ticks until then, if asked for: a run's lines before it dies.
		go tick(o.tick)
		time.Sleep(o.dieAfter)
		fmt.Println("dying")
		os.Exit(o.dieCode)
	}
	if o.echoStdin {
		line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
		fmt.Printf("got %s\n", strings.TrimSpace(line))
		os.Exit(0)
	}
	tick(o.tick)
}

// tick prints "tick N" every d; it returns at once for d 0.
func tick(d time.Duration) {
	for n := 1; d > 0; n++ {
		time.Sleep(d)
		fmt.Printf("tick %d\n", n)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "testsvc:", err)
	os.Exit(1)
}

func sleepForever() {
	for {
		time.Sleep(time.Hour)
	}
}

// exitOnInt makes SIGINT print "got INT" and exit with code.
func exitOnInt(code int) {
	ints := make(chan os.Signal, 1)
	signal.Notify(ints, syscall.SIGINT)
	go func() {
		<-ints
		fmt.Println("got INT")
		os.Exit(code)
	}()
}

// mysqlClient plays the database client when testsvc runs as "mysql" (the
// test images hold it under that name too): it answers like `mysql -e
// "SELECT 1"` when something accepts on -hHOST / -PPORT (127.0.0.1:3306),
// and fails with the client's connection error otherwise.
func mysqlClient(args []string) int {
	host, port := "127.0.0.1", "3306"
	for i, a := range args {
		switch {
		case strings.HasPrefix(a, "-h") && len(a) > 2:
			host = a[2:]
		case strings.HasPrefix(a, "-P") && len(a) > 2:
			port = a[2:]
		case a == "-P" && i+1 < len(args):
			port = args[i+1]
		}
	}
	conn, err := net.DialTimeout("tcp", net.JoinHostPort(host, port), 2*time.Second)
	if err != nil {
		fmt.Fprintf(os.Stderr, "ERROR 2003 (HY000): Can't connect to MySQL server on '%s:%s' (%v)\n", host, port, err)
		return 1
	}
	conn.Close()
	fmt.Println("1\n1")
	return 0
}
