package engine_test

import (
	"context"
	"errors"
	"testing"

	"github.com/berthdev/berth/images/engine"
	"github.com/berthdev/berth/images/engine/enginetest"
)

// TestClientsCacheAndClose: one connection per host, each closed by Close,
// and a new one made when a host is used again afterwards.
func TestClientsCacheAndClose(t *testing.T) {
	dialed := map[string]int{}
	closed := 0
	cs := &engine.Clients{
		Endpoint: func(host string) (engine.Endpoint, error) {
			if host == "nowhere" {
				return engine.Endpoint{}, errors.New(`unknown host "nowhere"`)
			}
			return engine.Endpoint{Host: "tcp://" + host + ":2376"}, nil
		},
		Dial: func(_ context.Context, ep engine.Endpoint) (*engine.Client, error) {
			dialed[ep.Host]++
			return (&enginetest.Fake{CloseFunc: func() error { closed++; return nil }}).Client(), nil
		},
	}
	ctx := context.Background()
	for _, h := range []string{"a", "b", "a", "b"} {
		if _, err := cs.Get(ctx, h); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cs.Get(ctx, "nowhere"); err == nil {
		t.Error("Get of an unknown host: no error")
	}
	if dialed["tcp://a:2376"] != 1 || dialed["tcp://b:2376"] != 1 {
		t.Errorf("dialed %v, want each host once", dialed)
	}
	if err := cs.Close(); err != nil || closed != 2 {
		t.Errorf("Close: %v, closed %d clients, want 2", err, closed)
	}
	cs.Get(ctx, "a")
	if dialed["tcp://a:2376"] != 2 {
		t.Errorf("after Close, host a was not reconnected: %v", dialed)
	}
}
