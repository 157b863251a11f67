package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/berthdev/berth/hack/testkit"
)

// completions runs cobra's hidden __complete request as a shell does and
// returns the names offered and the directive line.
func completions(t *testing.T, root string, args ...string) ([]string, string) {
	t.Helper()
	out, code := berthOut(t, root, append([]string{"__complete"}, args...)...)
	if code != 0 {
		t.Fatalf("__complete %v: exit %d\n%s", args, code, out)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, ":") {
		t.Fatalf("__complete %v: no directive line in %q", args, out)
	}
	return lines[:len(lines)-1], last
}

// berthOut is berthEnv with stdout alone: stderr carries cobra's debug note.
func berthOut(t *testing.T, root string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(berthBin, args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "BERTH_ENV=")
	out, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); ok {
		return string(out), ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), 0
}

func TestCompleteServicesByState(t *testing.T) {
	root := lifecycleEnv(t, [2]string{"core", ""}, [2]string{"gateway", ""}, [2]string{"web", ""})
	if out, code := berthEnv(t, root, "start", "core"); code != 0 {
		t.Fatalf("start core: %d %s", code, out)
	}
	const noFile = ":4"
	for _, tt := range []struct {
		args []string
		want []string
	}{
		{[]string{"start", ""}, []string{"all", "gateway", "web"}},
		{[]string{"start", "gateway", ""}, []string{"web"}},
		{[]string{"start", "all", ""}, nil},
		{[]string{"stop", ""}, []string{"all", "core"}},
		{[]string{"restart", ""}, []string{"all", "core"}},
		{[]string{"logs", ""}, []string{"all", "core"}},
		{[]string{"status", ""}, []string{"core", "gateway", "web"}},
		{[]string{"health", "web", ""}, []string{"core", "gateway"}},
		{[]string{"deps", ""}, []string{"core", "gateway", "web"}},
		{[]string{"deps", "core", ""}, nil},
		{[]string{"status", "--host", ""}, nil},
		{[]string{"info", ""}, nil},
	} {
		got, dir := completions(t, root, tt.args...)
		if !slices.Equal(got, tt.want) || dir != noFile {
			t.Errorf("__complete %q = %q %s, want %q %s", tt.args, got, dir, tt.want, noFile)
		}
	}
	// --env is honoured while completing, from anywhere.
	if got, _ := completions(t, t.TempDir(), "--env", root, "stop", ""); !slices.Equal(got, []string{"all", "core"}) {
		t.Errorf("with --env: %q", got)
	}
	// Outside an environment: nothing, and no error.
	if got, dir := completions(t, t.TempDir(), "start", ""); len(got) != 0 || dir != noFile {
		t.Errorf("outside an environment: %q %s", got, dir)
	}
}

func TestCompleteHostsImagesTemplatesBuilder(t *testing.T) {
	root := t.TempDir()
	manifest := `version: 1
components:
  app: {repo: /nowhere}
images:
  runtime: {component: app, context: ., tag: "x:1"}
hosts:
  gpu: {endpoint: "tcp://127.0.0.1:1"}
  edge: {endpoint: "tcp://127.0.0.1:2"}
services:
  web: {command: [sh]}
`
	os.WriteFile(filepath.Join(root, "berth.yaml"), []byte(manifest), 0o644)
	os.WriteFile(filepath.Join(root, ".metadata"), []byte("template=test\nenvironment_root="+root+"\n"), 0o644)
	for _, tt := range []struct {
		args []string
		want []string
	}{
		{[]string{"start", "--host", ""}, []string{"gpu", "edge"}},
		{[]string{"stop", "--host", ""}, []string{"gpu", "edge"}},
		{[]string{"build", ""}, []string{"all", "runtime"}},
		{[]string{"build", "runtime", ""}, nil},
		{[]string{"build", "--builder", ""}, []string{"auto", "classic", "buildkit"}},
		{[]string{"init", "--template", ""}, []string{"backend", "cloud-local", "demo"}},
		{[]string{"update", ""}, []string{"all", "app"}},
		{[]string{"versions", ""}, []string{"app"}},
		{[]string{"uninstall", ""}, []string{"app"}},
		{[]string{"uninstall", "app", ""}, nil},
	} {
		got, _ := completions(t, root, tt.args...)
		for _, w := range tt.want {
			if !slices.Contains(got, w) {
				t.Errorf("__complete %q = %q, lacks %q", tt.args, got, w)
			}
		}
		if tt.want == nil && len(got) != 0 {
			t.Errorf("__complete %q = %q, want nothing", tt.args, got)
		}
		if len(tt.want) > 0 && tt.args[0] != "init" && len(got) != len(tt.want) {
			t.Errorf("__complete %q = %q, want exactly %q", tt.args, got, tt.want)
		}
	}
}

func TestCompleteInstallVersions(t *testing.T) {
	f := newComponentFixture(t, "")
	if code, _, stderr := f.berth(t, "install", "app", "v1.0.0"); code != 0 {
		t.Fatalf("install: %d %s", code, stderr)
	}
	if code, _, stderr := f.berth(t, "install", "app", "branch:develop"); code != 0 {
		t.Fatalf("install branch: %d %s", code, stderr)
	}
	got, dir := completions(t, f.env, "install", "app", "")
	if want := []string{"branch:develop", "v1.9.0", "v1.2.0", "v1.0.0", "branch:"}; !slices.Equal(got, want) || dir != ":6" {
		t.Errorf("install app: %q %s, want %q :6 (no space after branch:)", got, dir, want)
	}
	if got, _ := completions(t, f.env, "install", ""); !slices.Equal(got, []string{"all", "app"}) {
		t.Errorf("install: %q", got)
	}
	// uninstall offers only what is on disk.
	if got, _ := completions(t, f.env, "uninstall", "app", ""); !slices.Equal(got, []string{"branch:develop", "v1.0.0"}) {
		t.Errorf("uninstall app: %q", got)
	}
}

// bashComplete completes line in a plain bash (no bash-completion package)
// that sourced berth's script, as bash does on <Tab>: COMP_* set, the
// registered function called, COMPREPLY read.
func bashComplete(t *testing.T, dir, line string) []string {
	t.Helper()
	script := `source <("$BERTH" completion bash) || exit 1
if declare -F _get_comp_words_by_ref >/dev/null; then echo "bash-completion is loaded"; exit 1; fi
spec=$(complete -p berth) || exit 1
fn=${spec##*-F }; fn=${fn%% *}
COMP_LINE=$LINE; COMP_POINT=${#LINE}
read -ra COMP_WORDS <<< "$LINE"
[[ $LINE == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
COMP_TYPE=9
"$fn" berth "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}" 2>/dev/null
printf '%s\n' "${COMPREPLY[@]}"
`
	cmd := exec.Command("bash", "--norc", "--noprofile", "-c", script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "BERTH="+berthBin, "LINE="+line, "BERTH_ENV=", "BASH_COMPLETION_VERSINFO=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bash completing %q: %v\n%s", line, err, out)
	}
	return strings.Fields(string(out))
}

func TestBashCompletionWithoutBashCompletionPackage(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash on this machine")
	}
	root := lifecycleEnv(t, [2]string{"core", ""}, [2]string{"gateway", ""})
	b := berthBin
	for _, tt := range []struct{ line, want string }{
		{b + " sta", "start status"},
		{b + " start ", "all core gateway"},
		{b + " start g", "gateway"},
		{b + " start core ", "gateway"},
		{b + " stop --for", "--force"},
		{b + " status -o ", "text wide json"},
		{b + " status --output=j", "json"},
		{b + " init --template d", "demo"},
	} {
		if got := strings.Join(bashComplete(t, root, tt.line), " "); got != tt.want {
			t.Errorf("bash completes %q to %q, want %q", strings.TrimPrefix(tt.line, b), got, tt.want)
		}
	}
	// Directories are still completed where a command takes one.
	os.WriteFile(filepath.Join(root, "zz-file"), nil, 0o644)
	os.Mkdir(filepath.Join(root, "zz-dir"), 0o755)
	if got := bashComplete(t, root, b+" init zz"); !slices.Equal(got, []string{"zz-dir"}) {
		t.Errorf("init DIR: %q", got)
	}
}

// TestBashCompletionInteractive types <Tab> into an interactive plain bash
// on a pseudo-terminal: readline, complete and berth's script together.
func TestBashCompletionInteractive(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash on this machine")
	}
	root := lifecycleEnv(t, [2]string{"core", ""}, [2]string{"gateway", ""})
	bin := filepath.Dir(berthBin)
	cmd := exec.Command("bash", "--norc", "--noprofile", "-i")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "PS1=$ ", "BERTH_ENV=", "TERM=dumb", "INPUTRC=/dev/null")
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
	tty.Write([]byte("source <(berth completion bash); echo sourced-$((1+1))\n"))
	wait := func(what string) {
		t.Helper()
		if err := testkit.Poll(10*time.Second, func() error {
			if !strings.Contains(out.String(), what) {
				return os.ErrNotExist
			}
			return nil
		}); err != nil {
			t.Fatalf("no %q on the terminal:\n%s", what, out.String())
		}
	}
	wait("sourced-2")
	// "gat" + Tab becomes "gateway": readline echoes the completed rest.
	tty.Write([]byte("echo; berth start gat\t"))
	wait("gateway ")
	tty.Write([]byte("\x15exit\n"))
}
