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
)

type lines []string

func (l *lines) String() string     { return strings.Join(*l, ",") }
func (l *lines) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	if filepath.Base(os.Args[0]) == "mysql" {
		os.Exit(mysqlClient(os.Args[1:]))
	}
	var (
		print      lines
		exitCode   = flag.Int("exit", -1, "exit at once with this code (after printing)")
		killSelf   = flag.String("kill-self", "", "end by this signal (INT, TERM, KILL, ...) after printing")
		ignoreTerm = flag.Bool("ignore-term", false, "ignore SIGTERM")
		fork       = flag.Bool("fork", false, "start a grandchild that sleeps until signalled")
		childFile  = flag.String("child-pid-file", "", "write the grandchild's PID here")
		childTerm  = flag.Bool("child-ignore-term", false, "the grandchild ignores SIGTERM")
		childSid   = flag.Bool("child-setsid", false, "the grandchild leaves the process group (setsid)")
		readyAfter = flag.Duration("ready-after", 0, "wait this long before listening and printing ready")
		dieAfter   = flag.Duration("die-after", 0, "print \"dying\" and exit with code 5 this long after ready")
		httpAddr   = flag.String("http", "", "serve HTTP on ADDR (GET /health answers 200)")
		tcpAddr    = flag.String("tcp", "", "accept TCP connections on ADDR")
		env        lines
		isChild    = flag.Bool("grandchild", false, "internal: be the grandchild")
		echoStdin  = flag.Bool("echo-stdin", false, "after ready, read one line from stdin, print \"got LINE\" and exit 0")
		tick       = flag.Duration("tick", 0, "after ready, print \"tick N\" at this interval")
		onInt      = flag.Int("on-int", -1, "on SIGINT, print \"got INT\" and exit with this code (PID 1 in a container ignores an unhandled INT)")
	)
	flag.Var(&print, "print", "print this line on stdout (repeatable)")
	flag.Var(&env, "print-env", "print NAME=value of this variable, or NAME unset (repeatable)")
	flag.Parse()

	if *isChild {
		if *ignoreTerm {
			signal.Ignore(syscall.SIGTERM)
		}
		sleepForever()
	}
	if *ignoreTerm {
		signal.Ignore(syscall.SIGTERM)
	}
	if *onInt >= 0 {
		ints := make(chan os.Signal, 1)
		signal.Notify(ints, syscall.SIGINT)
		go func() {
			<-ints
			fmt.Println("got INT")
			os.Exit(*onInt)
		}()
	}
	for _, l := range print {
		fmt.Println(l)
	}
	for _, k := range env {
		if v, ok := os.LookupEnv(k); ok {
			fmt.Printf("%s=%s\n", k, v)
		} else {
			fmt.Printf("%s unset\n", k)
		}
	}
	if wd, err := os.Getwd(); err == nil && len(env) > 0 {
		fmt.Printf("cwd=%s\n", wd)
	}
	if *killSelf != "" {
		sig := map[string]syscall.Signal{"INT": syscall.SIGINT, "TERM": syscall.SIGTERM, "KILL": syscall.SIGKILL, "HUP": syscall.SIGHUP, "QUIT": syscall.SIGQUIT}[*killSelf]
		signal.Reset(sig)
		syscall.Kill(os.Getpid(), sig)
		sleepForever()
	}
	if *exitCode >= 0 {
		os.Exit(*exitCode)
	}
	if *fork {
		args := []string{"-grandchild"}
		if *childTerm {
			args = append(args, "-ignore-term")
		}
		c := exec.Command(os.Args[0], args...)
		c.Stdout, c.Stderr = os.Stdout, os.Stderr
		if *childSid {
			c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		}
		if err := c.Start(); err != nil {
			fmt.Fprintln(os.Stderr, "testsvc:", err)
			os.Exit(1)
		}
		if *childFile != "" {
			if err := os.WriteFile(*childFile, []byte(fmt.Sprint(c.Process.Pid)), 0o644); err != nil {
				fmt.Fprintln(os.Stderr, "testsvc:", err)
				os.Exit(1)
			}
		}
	}
	time.Sleep(*readyAfter)
	if *httpAddr != "" {
		ln, err := net.Listen("tcp", *httpAddr)
		if err != nil {
			fmt.Fprintln(os.Stderr, "testsvc:", err)
			os.Exit(1)
		}
		mux := http.NewServeMux()
		mux.HandleFunc("/health", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
		go http.Serve(ln, mux)
	}
	if *tcpAddr != "" {
		ln, err := net.Listen("tcp", *tcpAddr)
		if err != nil {
			fmt.Fprintln(os.Stderr, "testsvc:", err)
			os.Exit(1)
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
	fmt.Println("ready")
	if *dieAfter > 0 {
		time.Sleep(*dieAfter)
		fmt.Println("dying")
		os.Exit(5)
	}
	if *echoStdin {
		line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
		fmt.Printf("got %s\n", strings.TrimSpace(line))
		os.Exit(0)
	}
	for n := 1; *tick > 0; n++ {
		time.Sleep(*tick)
		fmt.Printf("tick %d\n", n)
	}
	sleepForever()
}

func sleepForever() {
	for {
		time.Sleep(time.Hour)
	}
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
