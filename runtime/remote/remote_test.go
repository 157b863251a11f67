package remote_test

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/berthdev/berth/metadata"
	"github.com/berthdev/berth/runtime"
	"github.com/berthdev/berth/runtime/remote"
)

func TestTCPEndpoint(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	r := remote.New()
	ctx := context.Background()
	for _, endpoint := range []string{addr, "tcp://" + addr} {
		svc := &runtime.Service{Name: "db", Runner: metadata.RunnerRemote, Root: t.TempDir(), Remote: &metadata.RemoteSpec{Endpoint: endpoint}}
		st, err := r.Inspect(ctx, svc)
		if err != nil || !st.IsRunning() || st.Describe() != "remote "+endpoint {
			t.Fatalf("%s listening: %+v, %v", endpoint, st, err)
		}
	}
	ln.Close()
	svc := &runtime.Service{Name: "db", Runner: metadata.RunnerRemote, Remote: &metadata.RemoteSpec{Endpoint: addr}}
	st, err := r.Inspect(ctx, svc)
	if err != nil || st.IsRunning() || !strings.Contains(st.Reason, "connection refused") {
		t.Fatalf("closed: %+v, %v; want stopped, refused", st, err)
	}
	if ready, waiting, err := r.Ready(ctx, svc, runtime.Handle{}); ready || err != nil || !strings.Contains(waiting, addr) {
		t.Fatalf("Ready of a closed port: %v %q %v", ready, waiting, err)
	}
	if err := r.Stop(ctx, svc, runtime.Handle{}, runtime.StopOptions{}); err != nil || !r.Capabilities().Unmanaged {
		t.Fatalf("stop of a remote service: %v; it must do nothing and say it is unmanaged", err)
	}
}

func TestMissingTokenFile(t *testing.T) {
	svc := &runtime.Service{Name: "api", Root: t.TempDir(), Remote: &metadata.RemoteSpec{Endpoint: "https://127.0.0.1:1/", TokenFile: "secrets/token"}}
	st, _ := remote.New().Inspect(context.Background(), svc)
	if st.IsRunning() || !strings.Contains(st.Reason, "remote.token_file of api") {
		t.Fatalf("missing token file: %+v", st)
	}
}

func TestEndpointValidation(t *testing.T) {
	for _, tc := range []struct {
		endpoint string
		ok       bool
	}{
		{"https://api.example.org/health", true}, {"http://127.0.0.1:8080", true}, {"tcp://db:5432", true},
		{"db:5432", true}, {"db", false}, {"https://", false}, {"ftp://x:1", false},
	} {
		_, _, err := metadata.RemoteTarget(tc.endpoint)
		if (err == nil) != tc.ok {
			t.Errorf("RemoteTarget(%q) = %v; want ok %v", tc.endpoint, err, tc.ok)
		}
	}
}
