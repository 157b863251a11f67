package images

import (
	"bytes"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
)

// feed writes the classic builder's stream messages through s as
// readBuildStream does.
func feed(t *testing.T, s *classicSteps, out io.Writer, msgs ...string) {
	t.Helper()
	for _, m := range msgs {
		if err := s.write(m, func() error { _, err := io.WriteString(out, m); return err }); err != nil {
			t.Fatal(err)
		}
	}
}

// In CI each classic step's end is one plain line with its time, as
// BuildKit's DONE lines are.
func TestClassicStepTimerPlain(t *testing.T) {
	var out bytes.Buffer
	s := newClassicSteps(&out, false)
	feed(t, s, &out, "Step 1/2 : FROM scratch\n", " ---> \n", "Step 2/2 : RUN echo hi\n",
		" ---> Running in 0123\n", "hi", "Removing intermediate container 0123\n", " ---> 4567\n",
		"Successfully built 4567\n", "Successfully tagged x:1\n")
	s.end()
	want := regexp.MustCompile(`^Step 1/2 : FROM scratch\n ---> \nStep 1/2 DONE \d+\.\ds\nStep 2/2 : RUN echo hi\n` +
		` ---> Running in 0123\nhiRemoving intermediate container 0123\n ---> 4567\nStep 2/2 DONE \d+\.\ds\n` +
		`Successfully built 4567\nSuccessfully tagged x:1\n$`)
	if !want.MatchString(out.String()) || strings.Contains(out.String(), "\x1b") {
		t.Fatalf("plain output %q", out.String())
	}
}

// On a terminal the step under way has a timer redrawn in place below its
// output, taken off before more output and replaced by the DONE line.
func TestClassicStepTimerTerminal(t *testing.T) {
	master, tty, err := pty.Open()
	if err != nil {
		t.Skipf("skipping: no pseudo-terminal: %v", err)
	}
	defer master.Close()
	defer tty.Close()
	s := newClassicSteps(tty, true)
	var seen strings.Builder
	buf := make([]byte, 4096)
	read := func(until *regexp.Regexp) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !until.MatchString(seen.String()) {
			master.SetReadDeadline(deadline)
			n, err := master.Read(buf)
			if err != nil {
				t.Fatalf("reading the terminal for %s: %v; got %q", until, err, seen.String())
			}
			seen.Write(buf[:n])
		}
	}
	feed(t, s, tty, "Step 1/1 : RUN sleep 1\n", " ---> Running in 0123\n")
	// The timer, redrawn: two different readings of the same step.
	read(regexp.MustCompile(`\r\x1b\[KStep 1/1 \d+\.\ds(.|\n)*\r\x1b\[KStep 1/1 \d+\.\ds`))
	feed(t, s, tty, "Successfully built 4567\n")
	s.end()
	read(regexp.MustCompile(`Successfully built 4567`))
	out := strings.ReplaceAll(seen.String(), "\r\n", "\n")
	// The last timer reading is taken off before the DONE line.
	if !regexp.MustCompile(`\r\x1b\[KStep 1/1 DONE \d+\.\ds\nSuccessfully built 4567\n$`).MatchString(out) {
		t.Fatalf("terminal output %q", out)
	}
}
