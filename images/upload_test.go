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

// In CI (not a terminal) the upload is one plain line once sent.
func TestUploadPlain(t *testing.T) {
	var out bytes.Buffer
	u := newUpload(bytes.NewReader(make([]byte, 3000)), &out, false)
	if n, err := io.Copy(io.Discard, u); n != 3000 || err != nil {
		t.Fatal(n, err)
	}
	u.close()
	if !regexp.MustCompile(`^#0 sending build context 3kB \d+\.\ds done\n$`).MatchString(out.String()) {
		t.Fatalf("plain upload output %q", out.String())
	}
}

// gate is a reader that gives its bytes only once released.
type gate struct {
	release chan struct{}
	r       io.Reader
}

func (g *gate) Read(p []byte) (int, error) {
	<-g.release
	return g.r.Read(p)
}

// On a terminal the line is redrawn in place while the context is sent,
// then finished.
func TestUploadTerminal(t *testing.T) {
	master, tty, err := pty.Open()
	if err != nil {
		t.Skipf("skipping: no pseudo-terminal: %v", err)
	}
	defer master.Close()
	defer tty.Close()
	g := &gate{release: make(chan struct{}), r: bytes.NewReader(make([]byte, 5000))}
	u := newUpload(g, tty, true)
	copied := make(chan error, 1)
	go func() { _, err := io.Copy(io.Discard, u); copied <- err }()
	var seen strings.Builder
	buf := make([]byte, 4096)
	read := func(until string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(seen.String(), until) {
			master.SetReadDeadline(deadline)
			n, err := master.Read(buf)
			if err != nil {
				t.Fatalf("reading the terminal for %q: %v; got %q", until, err, seen.String())
			}
			seen.Write(buf[:n])
		}
	}
	read("\r\x1b[K#0 sending build context 0B")
	close(g.release)
	if err := <-copied; err != nil {
		t.Fatal(err)
	}
	read("done")
	u.close()
	if !regexp.MustCompile(`#0 sending build context 5kB \d+\.\ds done`).MatchString(seen.String()) {
		t.Fatalf("terminal output %q", seen.String())
	}
}

// Each BuildKit step's DONE line carries its time, as docker's plain
// progress does.
func TestBuildKitStepTimer(t *testing.T) {
	var out bytes.Buffer
	p := newBKPrinter(&out)
	p.handle(&bkStatus{vertexes: []bkVertex{{digest: "a", name: "[1/2] COPY x /x", started: true}}})
	p.handle(&bkStatus{vertexes: []bkVertex{{digest: "a", started: true, completed: true}}})
	if !regexp.MustCompile(`^#1 \[1/2\] COPY x /x\n#1 DONE \d+\.\ds\n$`).MatchString(out.String()) {
		t.Fatalf("output %q", out.String())
	}
}
