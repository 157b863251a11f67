package health

import (
	"net"
	"testing"
)

// A tcp check of this machine's own address is answered within the
// connect call, and the same as a dial answers it; a name, or a port that
// is neither listening nor refusing at once, is left to the dial.
func TestConnectNow(t *testing.T) {
	open := tcpServer(t)
	refused := closedAddr(t)
	ln6, err := net.Listen("tcp", "[::1]:0")
	open6 := ""
	if err == nil {
		go acceptAndClose(ln6)
		defer ln6.Close()
		open6 = ln6.Addr().String()
	}
	for _, c := range []struct {
		addr        string
		open, known bool
	}{
		{open, true, true},
		{refused, false, true},
		{open6, true, true},
		{"localhost:1", false, false},
		{"not an address", false, false},
	} {
		if c.addr == "" {
			continue // no IPv6 loopback here
		}
		gotOpen, gotKnown := connectNow(c.addr)
		if gotOpen != c.open || gotKnown != c.known {
			t.Errorf("connectNow(%q) = %v, %v; want %v, %v", c.addr, gotOpen, gotKnown, c.open, c.known)
		}
		if !gotKnown {
			continue
		}
		conn, err := net.Dial("tcp", c.addr)
		if err == nil {
			conn.Close()
		}
		if dialed := err == nil; dialed != gotOpen {
			t.Errorf("%s: connectNow says open=%v, a dial %v", c.addr, gotOpen, err)
		}
	}
}
