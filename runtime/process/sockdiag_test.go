package process

import (
	"fmt"
	"net"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// inodeOf is the socket inode of a listener or connection of this process.
func inodeOf(t testing.TB, c interface {
	File() (*os.File, error)
}) uint64 {
	t.Helper()
	f, err := c.File()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

func procSet(port int) map[uint64]bool {
	out := map[uint64]bool{}
	procListening("/proc/net/tcp", port, out)
	procListening("/proc/net/tcp6", port, out)
	return out
}

func diagSet(t *testing.T, port int) map[uint64]bool {
	t.Helper()
	out := map[uint64]bool{}
	if err := diagListening(unix.AF_INET, port, out); err != nil {
		t.Fatalf("sock_diag, IPv4: %v", err)
	}
	if err := diagListening(unix.AF_INET6, port, out); err != nil {
		if _, serr := os.Stat("/proc/net/tcp6"); serr == nil {
			t.Fatalf("sock_diag, IPv6: %v (while /proc/net/tcp6 exists)", err)
		}
	}
	return out
}

func setString(m map[uint64]bool) string {
	var b strings.Builder
	for k := range m {
		fmt.Fprintf(&b, "%d ", k)
	}
	return b.String()
}

// The kernel's answer through sock_diag is the listening sockets that
// /proc/net/tcp and tcp6 list, port by port: IPv4 and IPv6 listeners,
// not the connections accepted on the same port, nor another port's.
func TestDiagListenersAgreeWithProcNet(t *testing.T) {
	l4, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l4.Close()
	port := l4.Addr().(*net.TCPAddr).Port
	want := map[uint64]bool{inodeOf(t, l4.(*net.TCPListener)): true}
	if l6, err := net.Listen("tcp6", fmt.Sprintf("[::1]:%d", port)); err == nil {
		defer l6.Close()
		want[inodeOf(t, l6.(*net.TCPListener))] = true
	} else {
		t.Logf("no IPv6 listener on ::1 (%v): IPv4 only", err)
	}
	// An established connection on the listening port is not a listener.
	c, err := net.Dial("tcp4", l4.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	acc, err := l4.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer acc.Close()
	other, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()

	got, proc := diagSet(t, port), procSet(port)
	if setString(got) == "" || len(got) != len(want) || len(proc) != len(want) {
		t.Fatalf("listeners of port %d: sock_diag {%s}, /proc/net {%s}, want {%s}", port, setString(got), setString(proc), setString(want))
	}
	for ino := range want {
		if !got[ino] || !proc[ino] {
			t.Fatalf("listener %d of port %d: sock_diag {%s}, /proc/net {%s}", ino, port, setString(got), setString(proc))
		}
	}
	if l := listeners(port); len(l) != len(want) {
		t.Fatalf("listeners(%d) = {%s}, want {%s}", port, setString(l), setString(want))
	}
	// A port nothing listens on any more.
	l4.Close()
	if got := diagSet(t, port); len(got) != len(want)-1 {
		t.Fatalf("after the IPv4 listener closed: {%s}", setString(got))
	}
}

// The cost of one question, sock_diag beside /proc/net/tcp{,6} (go test
// -bench Listeners ./runtime/process/): the /proc read walks the kernel's
// whole established hash.
func BenchmarkListeners(b *testing.B) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	b.Run("sock_diag", func(b *testing.B) {
		for b.Loop() {
			m := map[uint64]bool{}
			if diagListening(unix.AF_INET, port, m) != nil || diagListening(unix.AF_INET6, port, m) != nil || len(m) != 1 {
				b.Fatal("no answer")
			}
		}
	})
	b.Run("proc_net", func(b *testing.B) {
		for b.Loop() {
			if len(procSet(port)) != 1 {
				b.Fatal("no answer")
			}
		}
	})
}
