package health

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/berthdev/berth/metadata"
)

// BenchmarkCheckTCP is one tcp check against a local server.
func BenchmarkCheckTCP(b *testing.B) {
	hc := &metadata.HealthCheck{Type: "tcp", Address: tcpServer(b)}
	for b.Loop() {
		if r := Check(context.Background(), hc, Options{}); !r.Healthy {
			b.Fatal(r.Detail)
		}
	}
}

// BenchmarkCheckHTTP is one http check (a new connection each time, as the
// checks make) against a local server.
func BenchmarkCheckHTTP(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	b.Cleanup(srv.Close)
	hc := &metadata.HealthCheck{Type: "http", URL: srv.URL + "/health"}
	for b.Loop() {
		if r := Check(context.Background(), hc, Options{}); !r.Healthy {
			b.Fatal(r.Detail)
		}
	}
}

// BenchmarkWaitAll20 is `berth health`'s shape: 20 services checked at once,
// each with an http check against its own local server.
func BenchmarkWaitAll20(b *testing.B) {
	var targets []Target
	for range 20 {
		srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		b.Cleanup(srv.Close)
		targets = append(targets, Target{Check: &metadata.HealthCheck{Type: "http", URL: srv.URL}})
	}
	for b.Loop() {
		if _, err := WaitAll(context.Background(), targets); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWaitAll20Ready200ms is the wait of a start of 20 services that
// each begin to accept 200 ms after it starts: one op should take about
// 200 ms plus at most one poll interval, not 20 × 200 ms.
func BenchmarkWaitAll20Ready200ms(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		var targets []Target
		var listeners []net.Listener
		var mu sync.Mutex
		for range 20 {
			addr := closedAddr(b)
			targets = append(targets, Target{Check: &metadata.HealthCheck{Type: "tcp", Address: addr}, WaitOptions: WaitOptions{Timeout: 5 * time.Second}})
			time.AfterFunc(200*time.Millisecond, func() {
				if ln, err := net.Listen("tcp", addr); err == nil {
					mu.Lock()
					listeners = append(listeners, ln)
					mu.Unlock()
				}
			})
		}
		b.StartTimer()
		if _, err := WaitAll(context.Background(), targets); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		mu.Lock()
		for _, ln := range listeners {
			ln.Close()
		}
		mu.Unlock()
		b.StartTimer()
	}
}

// BenchmarkCheckTCPRefused is one tcp check of a closed local port: what
// a start's wait does until its service listens.
func BenchmarkCheckTCPRefused(b *testing.B) {
	hc := &metadata.HealthCheck{Type: "tcp", Address: closedAddr(b)}
	for b.Loop() {
		if r := Check(context.Background(), hc, Options{}); r.Healthy {
			b.Fatal(r.Detail)
		}
	}
}
