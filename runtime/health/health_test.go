package health

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/berthdev/berth/metadata"
)

// silentServer accepts connections and never answers, the way a hung
// service does.
func silentServer(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// closedAddr is an address nothing listens on: a port the kernel gave out
// and that was closed again.
// closedAddr is a local address where connections are refused. Its port
// stays bound (a socket that does not listen) for the whole test, so no
// other process can take it meanwhile; listenLater makes it listen.
func closedAddr(t testing.TB) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		syscall.Close(fd)
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		syscall.Close(fd)
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
	reserved.Store(addr, fd)
	t.Cleanup(func() {
		if v, ok := reserved.LoadAndDelete(addr); ok {
			syscall.Close(v.(int))
		}
	})
	return addr
}

// reserved maps the addresses closedAddr handed out to their bound sockets.
var reserved sync.Map

func tcpServer(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go acceptAndClose(ln)
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}

func TestCheck(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/health":
			w.WriteHeader(http.StatusOK)
		case "/down":
			w.WriteHeader(http.StatusServiceUnavailable)
		case "/post-only":
			if r.Method != http.MethodPost {
				w.WriteHeader(http.StatusMethodNotAllowed)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		case "/moved":
			http.Redirect(w, r, "/health", http.StatusFound)
		}
	}))
	t.Cleanup(srv.Close)
	refused := closedAddr(t)
	silent := silentServer(t)
	open := tcpServer(t)

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ready"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "BERTH_CHECK_TOKEN=yes")
	short := metadata.Duration(300 * time.Millisecond)

	tests := []struct {
		name    string
		hc      metadata.HealthCheck
		healthy bool
		detail  string // substring of Detail
		maxTime time.Duration
	}{
		{"http ok", metadata.HealthCheck{Type: "http", URL: srv.URL + "/health"}, true, "http 200", 0},
		{"http wrong status", metadata.HealthCheck{Type: "http", URL: srv.URL + "/down"}, false, "http 503 (expected 200)", 0},
		{"http expected status", metadata.HealthCheck{Type: "http", URL: srv.URL + "/down", ExpectedStatus: 503}, true, "http 503", 0},
		{"http method", metadata.HealthCheck{Type: "http", URL: srv.URL + "/post-only", Method: "post", ExpectedStatus: 204}, true, "http 204", 0},
		{"http redirect is an answer", metadata.HealthCheck{Type: "http", URL: srv.URL + "/moved"}, false, "http 302 (expected 200)", 0},
		{"http refused", metadata.HealthCheck{Type: "http", URL: "http://" + refused + "/health"}, false, "GET http://" + refused + "/health: connection refused", 0},
		{"http timeout", metadata.HealthCheck{Type: "http", URL: "http://" + silent + "/health", Timeout: short}, false, "timed out after 300ms", 2 * time.Second},
		{"http bad url", metadata.HealthCheck{Type: "http", URL: "::nope"}, false, "GET ::nope: invalid request", 0},
		{"tcp ok", metadata.HealthCheck{Type: "tcp", Address: open}, true, "tcp " + open + " open", 0},
		{"tcp refused", metadata.HealthCheck{Type: "tcp", Address: refused}, false, "tcp " + refused + ": connection refused", 0},
		{"command ok", metadata.HealthCheck{Type: "command", Command: []string{"true"}}, true, "command true: exit code 0", 0},
		{"command wrong exit code", metadata.HealthCheck{Type: "command", Command: []string{"sh", "-c", "echo not yet; exit 3"}}, false, "command sh: exit code 3 (expected 0): not yet", 0},
		{"command expected exit code", metadata.HealthCheck{Type: "command", Command: []string{"sh", "-c", "exit 3"}, ExpectedExit: 3}, true, "exit code 3", 0},
		{"command env and dir", metadata.HealthCheck{Type: "command", Command: []string{"sh", "-c", `test "$BERTH_CHECK_TOKEN" = yes && test -f ready`}}, true, "exit code 0", 0},
		{"command timeout kills the group", metadata.HealthCheck{Type: "command", Command: []string{"sh", "-c", "sleep 30 & sleep 30"}, Timeout: short}, false, "command sh: timed out after 300ms", 2 * time.Second},
		{"command missing", metadata.HealthCheck{Type: "command", Command: []string{"berth-no-such-program"}}, false, "executable file not found", 0},
		{"file exists", metadata.HealthCheck{Type: "file", Path: "ready"}, true, "file ready exists", 0},
		{"file missing", metadata.HealthCheck{Type: "file", Path: "absent.pid"}, false, "file absent.pid: missing", 0},
		{"unknown type", metadata.HealthCheck{Type: "grpc"}, false, `unknown health check type "grpc"`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			r := Check(context.Background(), &tt.hc, Options{Dir: dir, Env: env})
			if r.Healthy != tt.healthy || !strings.Contains(r.Detail, tt.detail) {
				t.Errorf("Check = healthy %v, %q; want healthy %v, detail containing %q", r.Healthy, r.Detail, tt.healthy, tt.detail)
			}
			if r.Kind != tt.hc.Type {
				t.Errorf("Kind = %q, want %q", r.Kind, tt.hc.Type)
			}
			if r.Duration <= 0 || r.At.IsZero() {
				t.Errorf("Duration %v and At %v must be set", r.Duration, r.At)
			}
			if tt.maxTime > 0 && time.Since(start) > tt.maxTime {
				t.Errorf("check took %v, want under %v", time.Since(start), tt.maxTime)
			}
		})
	}
}

func TestCommandCheckWithoutEnvInheritsBerths(t *testing.T) {
	t.Setenv("BERTH_CHECK_INHERITED", "1")
	hc := &metadata.HealthCheck{Type: "command", Command: []string{"sh", "-c", `test "$BERTH_CHECK_INHERITED" = 1`}}
	if r := Check(context.Background(), hc, Options{}); !r.Healthy {
		t.Fatalf("nil Env should inherit berth's environment: %s", r.Detail)
	}
	r := Check(context.Background(), hc, Options{Env: []string{"PATH=" + os.Getenv("PATH")}})
	if r.Healthy {
		t.Fatal("an explicit Env must replace berth's environment")
	}
}

func TestExpand(t *testing.T) {
	vars := map[string]string{"PORT": "8080", "ENV_ROOT": "/env"}
	lookup := func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	hc := &metadata.HealthCheck{Type: "command", URL: "http://127.0.0.1:${PORT}/h", Address: "127.0.0.1:$PORT",
		Command: []string{"check", "${ENV_ROOT}/x"}, Path: "${ENV_ROOT}/ready"}
	got, err := Expand(hc, lookup)
	if err != nil {
		t.Fatal(err)
	}
	if got.URL != "http://127.0.0.1:8080/h" || got.Address != "127.0.0.1:8080" || got.Command[1] != "/env/x" || got.Path != "/env/ready" {
		t.Fatalf("Expand = %+v", got)
	}
	if hc.Command[1] != "${ENV_ROOT}/x" {
		t.Fatal("Expand changed its argument")
	}
	if _, err := Expand(&metadata.HealthCheck{URL: "http://${NOPE}/"}, lookup); err == nil || !strings.Contains(err.Error(), "NOPE") {
		t.Fatalf("Expand of an unknown variable: err = %v, want it named", err)
	}
}

// listenLater starts a TCP server on addr after delay, as a service that
// needs a moment to become ready.
func listenLater(t testing.TB, addr string, delay time.Duration) {
	t.Helper()
	done := make(chan struct{})
	t.Cleanup(func() { <-done })
	time.AfterFunc(delay, func() {
		defer close(done)
		ln, err := listenOn(addr)
		if err != nil {
			t.Errorf("listen %s: %v", addr, err)
			return
		}
		go acceptAndClose(ln)
		t.Cleanup(func() { ln.Close() })
	})
}

// listenOn starts listening on addr, on the socket closedAddr kept bound.
func listenOn(addr string) (net.Listener, error) {
	v, ok := reserved.LoadAndDelete(addr)
	if !ok {
		return net.Listen("tcp", addr)
	}
	fd := v.(int)
	if err := syscall.Listen(fd, 128); err != nil {
		syscall.Close(fd)
		return nil, err
	}
	f := os.NewFile(uintptr(fd), addr)
	defer f.Close()
	return net.FileListener(f)
}

func TestWaitHealthy(t *testing.T) {
	t.Run("becomes healthy", func(t *testing.T) {
		addr := closedAddr(t)
		listenLater(t, addr, 200*time.Millisecond)
		var attempts int
		start := time.Now()
		r, err := WaitHealthy(context.Background(), &metadata.HealthCheck{Type: "tcp", Address: addr},
			WaitOptions{Service: "svc", Timeout: 5 * time.Second, Progress: func(Result) { attempts++ }})
		took := time.Since(start)
		if err != nil || !r.Healthy {
			t.Fatalf("WaitHealthy = %+v, %v", r, err)
		}
		if took < 200*time.Millisecond || took > 200*time.Millisecond+DefaultStartInterval+time.Second {
			t.Errorf("healthy after %v; the server opened at 200ms and polls are at most %v apart", took, DefaultStartInterval)
		}
		if attempts < 2 {
			t.Errorf("%d attempts, want the wait to have polled", attempts)
		}
	})
	t.Run("timeout keeps the last check", func(t *testing.T) {
		addr := closedAddr(t)
		start := time.Now()
		r, err := WaitHealthy(context.Background(), &metadata.HealthCheck{Type: "tcp", Address: addr},
			WaitOptions{Service: "tranqu", Timeout: 250 * time.Millisecond})
		var we *WaitError
		if !errors.As(err, &we) || !errors.Is(err, ErrTimeout) {
			t.Fatalf("err = %v, want a WaitError with ErrTimeout", err)
		}
		if took := time.Since(start); took < 250*time.Millisecond || took > 2*time.Second {
			t.Errorf("wait took %v, want about 250ms", took)
		}
		want := "tranqu did not become healthy within"
		if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "(last check: tcp "+addr+": connection refused)") {
			t.Errorf("err = %q", err)
		}
		if r.Healthy || we.Last.Detail != r.Detail {
			t.Errorf("result %+v, last %+v", r, we.Last)
		}
	})
	t.Run("a hung check is cut at the deadline", func(t *testing.T) {
		silent := silentServer(t)
		start := time.Now()
		_, err := WaitHealthy(context.Background(), &metadata.HealthCheck{Type: "http", URL: "http://" + silent + "/", Timeout: metadata.Duration(time.Minute)},
			WaitOptions{Timeout: 300 * time.Millisecond})
		if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "timed out") {
			t.Fatalf("err = %v, want a timeout naming the hung check", err)
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("wait took %v; the check's own 1m timeout must not outlast the wait", took)
		}
	})
	t.Run("an attempt cut short by the deadline keeps the one before", func(t *testing.T) {
		// The first attempt fails at once; the second hangs until the
		// wait's end cuts it short.
		mark := filepath.Join(t.TempDir(), "tried")
		script := `if [ -e "$0" ]; then exec sleep 10; fi; : > "$0"; echo refused; exit 1`
		_, err := WaitHealthy(context.Background(), &metadata.HealthCheck{Type: "command", Command: []string{"sh", "-c", script, mark}},
			WaitOptions{Service: "api", Timeout: 300 * time.Millisecond})
		if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "exit code 1") || strings.Contains(err.Error(), "timed out") {
			t.Fatalf("err = %v; want the failing attempt before the one cut short", err)
		}
	})
	t.Run("process not alive", func(t *testing.T) {
		_, err := WaitHealthy(context.Background(), &metadata.HealthCheck{Type: "tcp", Address: closedAddr(t)},
			WaitOptions{Service: "core", Alive: func() bool { return false }})
		if !errors.Is(err, ErrExited) || err.Error() != "core exited before it became healthy" {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("process exits while waiting", func(t *testing.T) {
		cmd := exec.Command("sh", "-c", "sleep 0.2")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		start := time.Now()
		_, err := WaitHealthy(context.Background(), &metadata.HealthCheck{Type: "tcp", Address: closedAddr(t)},
			WaitOptions{Service: "core", Timeout: 10 * time.Second, Exited: exited})
		if !errors.Is(err, ErrExited) || !strings.Contains(err.Error(), "connection refused") {
			t.Fatalf("err = %v", err)
		}
		if took := time.Since(start); took > 3*time.Second {
			t.Errorf("wait took %v after the process exited at 200ms", took)
		}
	})
	t.Run("context canceled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		_, err := WaitHealthy(ctx, &metadata.HealthCheck{Type: "tcp", Address: closedAddr(t)}, WaitOptions{Timeout: 10 * time.Second})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	})
}

func TestWaitAllIsConcurrent(t *testing.T) {
	const n = 20
	const delay = 200 * time.Millisecond
	var targets []Target
	for i := range n {
		addr := closedAddr(t)
		listenLater(t, addr, delay)
		targets = append(targets, Target{
			Check:       &metadata.HealthCheck{Type: "tcp", Address: addr},
			WaitOptions: WaitOptions{Service: "svc" + string(rune('a'+i)), Timeout: 5 * time.Second},
		})
	}
	bad := closedAddr(t)
	targets = append(targets, Target{Check: &metadata.HealthCheck{Type: "tcp", Address: bad},
		WaitOptions: WaitOptions{Service: "broken", Timeout: 400 * time.Millisecond}})
	start := time.Now()
	out, err := WaitAll(context.Background(), targets)
	took := time.Since(start)
	if took > n*delay/2 {
		t.Errorf("WaitAll of %d services ready after %v took %v: the waits ran one after another", n, delay, took)
	}
	if len(out) != n+1 {
		t.Fatalf("%d outcomes", len(out))
	}
	for i, o := range out[:n] {
		if o.Err != nil || !o.Result.Healthy || o.Service != targets[i].Service {
			t.Errorf("outcome %d = %+v", i, o)
		}
	}
	if last := out[n]; !errors.Is(last.Err, ErrTimeout) || last.Service != "broken" {
		t.Errorf("broken outcome = %+v", last)
	}
	if err == nil || !strings.Contains(err.Error(), "broken did not become healthy") || strings.Contains(err.Error(), "svca") {
		t.Errorf("joined err = %v, want only the broken service", err)
	}
}

// acceptAndClose answers every connection to ln by closing it, until ln
// is closed: enough for a tcp check to pass.
func acceptAndClose(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		c.Close()
	}
}

// A tcp check's start wait polls every few milliseconds (a refused connect
// on loopback costs microseconds and the service nothing); other checks,
// which ask the service for an answer, keep the slower start polls. A
// manifest interval shorter than either is kept.
func TestStartPolls(t *testing.T) {
	for _, c := range []struct {
		hc           metadata.HealthCheck
		first, limit time.Duration
	}{
		{metadata.HealthCheck{Type: metadata.HealthTCP, Address: "127.0.0.1:1"}, 1 * time.Millisecond, 5 * time.Millisecond},
		{metadata.HealthCheck{Type: metadata.HealthHTTP, URL: "http://127.0.0.1:1/"}, 10 * time.Millisecond, DefaultStartInterval},
	} {
		first, limit := startPolls(&c.hc)
		if first != c.first || limit != c.limit {
			t.Errorf("%s: polls from %v up to %v; want %v up to %v", c.hc.Type, first, limit, c.first, c.limit)
		}
	}
}
