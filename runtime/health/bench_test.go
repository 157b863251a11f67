package health

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

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
