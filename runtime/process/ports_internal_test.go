package process

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berthdev/berth/hack/testkit"
	"github.com/berthdev/berth/metadata"
	"github.com/berthdev/berth/runtime"
)

// A service whose own main process listens on the checked port is shown
// to hold it without a walk of /proc: a start of 10 services with tcp
// checks walked every process's environment once per service, one walk at
// a time. Before the fix every CheckListener made a walk.
func TestCheckListenerOfTheLeaderWalksNothing(t *testing.T) {
	dir := t.TempDir()
	portFile := filepath.Join(dir, "port")
	script := "import socket,time\ns=socket.socket()\ns.bind(('127.0.0.1',0))\ns.listen()\n" +
		"open('" + portFile + ".tmp','w').write(str(s.getsockname()[1]))\n" +
		"import os\nos.rename('" + portFile + ".tmp','" + portFile + "')\ntime.sleep(60)\n"
	svc := &runtime.Service{Name: "listener", Runner: metadata.RunnerProcess,
		Argv: []string{"python3", "-c", script}, Env: os.Environ(), Dir: dir,
		StopSignal: syscall.SIGTERM, StopGrace: 5 * time.Second, StateDir: filepath.Join(dir, "pids"), Root: dir}
	r := New(Options{})
	h, err := r.Start(context.Background(), svc)
	if err != nil {
		t.Skipf("no python3 to listen with: %v", err)
	}
	t.Cleanup(func() {
		r.Stop(context.Background(), svc, h, runtime.StopOptions{Signal: syscall.SIGKILL, Grace: time.Second, Kill: true})
	})
	var port int
	testkit.Eventually(t, 10*time.Second, func() error {
		b, _ := os.ReadFile(portFile)
		if port, _ = strconv.Atoi(strings.TrimSpace(string(b))); port == 0 {
			return fmt.Errorf("no port in %s yet", portFile)
		}
		return nil
	})
	shared.mu.Lock()
	before := shared.walks
	shared.mu.Unlock()
	if err := r.CheckListener(context.Background(), svc, h, port); err != nil {
		t.Fatal(err)
	}
	shared.mu.Lock()
	after := shared.walks
	shared.mu.Unlock()
	if after != before {
		t.Fatalf("showing that the service's leader holds port %d walked /proc %d time(s)", port, after-before)
	}
	// Another port, which nothing of the service holds, is still refused.
	if err := r.CheckListener(context.Background(), svc, h, 1); err == nil {
		t.Fatal("a port nothing listens on passed")
	}
}
