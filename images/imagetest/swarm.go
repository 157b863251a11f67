package imagetest

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"time"

	"github.com/docker/docker/api/types/swarm"
	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/berthdev/berth/images/engine"
)

// Swarm makes the daemon a single-node swarm (advertising 127.0.0.1) when
// it is not in one already. The returned leave leaves the swarm only if
// Swarm made it, so a developer's own swarm is never touched.
func Swarm(ctx context.Context, c *engine.Client) (leave func(), err error) {
	info, err := c.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("daemon info: %w", err)
	}
	switch info.Swarm.LocalNodeState {
	case swarm.LocalNodeStateActive:
		if !info.Swarm.ControlAvailable {
			return nil, fmt.Errorf("this daemon is a swarm worker: the swarm tests need a manager")
		}
		return func() {}, nil
	case swarm.LocalNodeStateInactive:
	default:
		return nil, fmt.Errorf("this daemon's swarm is %s: wait for it to settle, or leave it (docker swarm leave)", info.Swarm.LocalNodeState)
	}
	if _, err := c.SwarmInit(ctx, swarm.InitRequest{ListenAddr: "127.0.0.1:2377", AdvertiseAddr: "127.0.0.1"}); err != nil {
		return nil, fmt.Errorf("make a single-node swarm: %w", err)
	}
	return func() {
		lctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c.SwarmLeave(lctx, true)
	}, nil
}

// Registry serves an in-memory image registry on 127.0.0.1 inside the test
// process; the daemon treats 127.0.0.0/8 registries as insecure, so it
// pushes and pulls there without configuration. It returns HOST:PORT.
func Registry() (addr string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: registry.New(registry.Logger(log.New(io.Discard, "", 0))), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return ln.Addr().String(), func() { srv.Close() }, nil
}
