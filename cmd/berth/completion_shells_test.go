package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/berthdev/berth/hack/testkit"
)

// needShell skips when the shell is not installed: hack/test.sh installs
// zsh and fish as root with apt; elsewhere these tests cannot run.
func needShell(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Skipf("skipping: %s is not installed (hack/test.sh installs Debian's %s when run as root)", name, name)
	}
}

// completionEnv is a real environment with core running and gateway
// stopped, so the shells' answers show the services' states.
func completionEnv(t *testing.T) string {
	t.Helper()
	root := lifecycleEnv(t, [2]string{"core", ""}, [2]string{"gateway", ""})
	if out, code := berthEnv(t, root, "start", "core"); code != 0 {
		t.Fatalf("start core: %d %s", code, out)
	}
	return root
}

// shellEnv runs berth from PATH in the environment the shell is in.
func shellEnv() []string {
	return append(os.Environ(), "PATH="+filepath.Dir(berthBin)+":"+os.Getenv("PATH"), "BERTH_ENV=")
}

// TestFishCompletion loads `berth completion fish` into a fish without
// config and asks fish's own completion engine (complete -C), as <Tab> does.
func TestFishCompletion(t *testing.T) {
	needShell(t, "fish")
	root := completionEnv(t)
	for _, tt := range []struct{ line, want string }{
		{"berth sta", "start status"},
		{"berth start ", "all gateway"},
		{"berth stop ", "all core"},
		{"berth start g", "gateway"},
		{"berth status -o ", "json text wide"},
	} {
		cmd := exec.Command("fish", "--no-config", "-c", `berth completion fish | source; or exit 1; complete -C "$LINE"`)
		cmd.Dir = root
		cmd.Env = append(shellEnv(), "LINE="+tt.line)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("fish completing %q: %v\n%s", tt.line, err, out)
		}
		// fish prints "word<TAB>description", one a line, sorted.
		var words []string
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			w, _, _ := strings.Cut(l, "\t")
			words = append(words, w)
		}
		if got := strings.Join(words, " "); got != tt.want {
			t.Errorf("fish completes %q to %q, want %q\n%s", tt.line, got, tt.want, out)
		}
	}
}

// TestZshCompletion types <Tab> into an interactive zsh (no startup files)
// on a pseudo-terminal after compinit and `berth completion zsh`: zle,
// the completion system and berth's script together.
func TestZshCompletion(t *testing.T) {
	needShell(t, "zsh")
	root := completionEnv(t)
	cmd := exec.Command("zsh", "-f", "-i")
	cmd.Dir = root
	cmd.Env = append(shellEnv(), "PS1=%% ", "TERM=dumb", "HOME="+t.TempDir())
	tty, err := pty.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { tty.Close(); cmd.Process.Kill(); cmd.Wait() }()
	out := newSyncBuffer()
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := tty.Read(buf)
			out.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}()
	// from is where the output of the next step starts.
	from := 0
	wait := func(what *regexp.Regexp) {
		t.Helper()
		if err := testkit.Poll(15*time.Second, func() error {
			if !what.MatchString(out.String()[from:]) {
				return os.ErrNotExist
			}
			return nil
		}); err != nil {
			t.Fatalf("no %s on the terminal:\n%q", what, out.String()[from:])
		}
		from = len(out.String())
	}
	tty.Write([]byte("autoload -U compinit && compinit -u && source <(berth completion zsh) && echo loaded-$((1+1))\n"))
	// The result, then the next prompt: keys typed before it would be
	// read while the line editor is off, and a Tab lost.
	wait(regexp.MustCompile(`loaded-2(.|\n)*% `))
	// "gat" + Tab becomes "gateway " on the line.
	tty.Write([]byte("berth start gat\t"))
	wait(regexp.MustCompile(`way `))
	// Tab on an empty word lists the stopped services (core runs).
	tty.Write([]byte("\x15berth start \t"))
	wait(regexp.MustCompile(`\r\nall +gateway *\r\n`))
	// and for stop the running ones.
	tty.Write([]byte("\x15berth stop \t"))
	wait(regexp.MustCompile(`\r\nall +core *\r\n`))
	tty.Write([]byte("\x15exit\n"))
}
