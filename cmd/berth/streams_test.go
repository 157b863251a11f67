package main

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/creack/pty"
)

// berthWith runs berth in the test process on the given streams.
func berthWith(s *streams, args ...string) int {
	return run(args, s)
}

// terminalStdin is a stdin a test answers through a buffer while berth
// takes it for a terminal, the one thing a buffer cannot be.
func terminalStdin(s *streams, answer string) *streams {
	s.stdin = &inStream{Reader: strings.NewReader(answer), terminal: terminal{isTerm: true}}
	return s
}

// The confirmation of a critical service, answered through an injected
// stdin: the question goes to stderr, the answer decides.
func TestConfirmCriticalThroughInjectedStdin(t *testing.T) {
	for _, tc := range []struct {
		answer  string
		code    int
		stopped bool
	}{{"y\n", 0, true}, {"yes\n", 0, true}, {"n\n", 1, false}, {"", 1, false}} {
		t.Run("answer "+strings.TrimSpace(tc.answer), func(t *testing.T) {
			root := yamlEnvCLI(t, cliManifest)
			if out, code := berthEnv(t, root, "start", "db", "web"); code != 0 {
				t.Fatalf("start: %s", out)
			}
			var out, errb bytes.Buffer
			code := berthWith(terminalStdin(newStreams(nil, &out, &errb), tc.answer), "--env", root, "stop", "db")
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out.String(), errb.String())
			}
			if !strings.HasPrefix(errb.String(), "Stop db? This affects: no other service [y/N] ") {
				t.Fatalf("stderr %q lacks the question", errb.String())
			}
			if tc.stopped != (out.String() == "db: Stopped\n") {
				t.Fatalf("answer %q: stdout %q", tc.answer, out.String())
			}
			if st := checkAgree(t, root); strings.Contains(st, "db: Stopped") != tc.stopped || !strings.Contains(st, "web: Running") {
				t.Fatalf("answer %q: status\n%s", tc.answer, st)
			}
		})
	}
}

// A stdin that is not a terminal cannot confirm: the stop is refused with
// the way out, and nothing is read from it.
func TestConfirmRefusedWithoutTerminal(t *testing.T) {
	root := yamlEnvCLI(t, cliManifest)
	if out, code := berthEnv(t, root, "start", "db"); code != 0 {
		t.Fatalf("start: %s", out)
	}
	in := strings.NewReader("y\n")
	var out, errb bytes.Buffer
	code := berthWith(newStreams(in, &out, &errb), "--env", root, "stop", "db")
	if code != 1 || !strings.Contains(errb.String(), "stdin is not a terminal to confirm on, so pass --yes") || strings.Contains(errb.String(), "[y/N]") {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
	if in.Len() != 2 {
		t.Fatal("berth read a stdin that is not a terminal")
	}
	if st := checkAgree(t, root); !strings.Contains(st, "db: Running") {
		t.Fatalf("a refused stop stopped db:\n%s", st)
	}
}

// A foreground service run on buffers: berth joins them to the service
// through pipes and copies everything before it returns.
func TestForegroundOnBuffers(t *testing.T) {
	root := yamlEnvCLI(t, `version: 1
services:
  echo:
    command: [sh, -c, 'read line; echo "out: $$line"; echo "err: $$line" >&2; exit 3']
`)
	var out, errb bytes.Buffer
	code := berthWith(newStreams(strings.NewReader("hello\n"), &out, &errb), "--env", root, "start", "echo", "--foreground")
	if code != 3 || !strings.Contains(out.String(), "out: hello\n") || !strings.Contains(errb.String(), "err: hello\n") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
	}
}

// Install draws its progress in place only on a stderr that is itself a
// terminal. With stdout on a terminal and stderr in a log file, the log
// gets plain lines, no carriage returns or escape codes.
func TestInstallProgressOnlyOnATerminal(t *testing.T) {
	for _, tc := range []struct {
		name      string
		stderrTTY bool
	}{{"stdout a terminal, stderr a file", false}, {"stderr a terminal", true}} {
		t.Run(tc.name, func(t *testing.T) {
			f := newComponentFixture(t, "")
			ptmx, tty, err := pty.Open()
			if err != nil {
				t.Fatal(err)
			}
			defer ptmx.Close()
			logPath := filepath.Join(t.TempDir(), "log")
			log, err := os.Create(logPath)
			if err != nil {
				t.Fatal(err)
			}
			defer log.Close()
			cmd := exec.Command(berthBin, "--env", f.env, "install", "app", "v1.0.0")
			cmd.Env = append(os.Environ(), "XDG_DATA_HOME="+filepath.Join(t.TempDir(), "data"))
			cmd.Stdin = tty
			cmd.Stdout, cmd.Stderr = tty, log
			if tc.stderrTTY {
				cmd.Stdout, cmd.Stderr = log, tty
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			tty.Close()
			onTerminal := make(chan []byte, 1)
			go func() {
				b, _ := io.ReadAll(ptmx) // ends with EIO once berth has exited
				onTerminal <- b
			}()
			if err := cmd.Wait(); err != nil {
				t.Fatalf("install: %v", err)
			}
			termOut := <-onTerminal
			logOut, _ := os.ReadFile(logPath)
			stderr := logOut
			if tc.stderrTTY {
				stderr = termOut
			}
			if !bytes.Contains(stderr, []byte("app: fetching v1.0.0 from ")) {
				t.Fatalf("stderr lacks the progress step: %q", stderr)
			}
			if drawn := bytes.Contains(stderr, []byte("\r\033[K")); drawn != tc.stderrTTY {
				t.Fatalf("progress drawn in place: %v, want %v; stderr %q", drawn, tc.stderrTTY, stderr)
			}
			if bytes.ContainsAny(logOut, "\r\033") {
				t.Fatalf("the log file got terminal control characters: %q", logOut)
			}
		})
	}
}
