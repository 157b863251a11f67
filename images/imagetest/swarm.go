package imagetest

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/pkg/jsonmessage"
	"github.com/google/go-containerregistry/pkg/registry"
	"golang.org/x/sys/unix"

	"github.com/berthdev/berth/images/engine"
)

// SwarmLock is the file that test processes (and hack/bench-swarm.sh) share
// while they use the daemon's swarm; SwarmLock+".made" marks a swarm that
// one of them made.
var SwarmLock = filepath.Join(os.TempDir(), "berth-swarm-test.lock")

// Swarm makes the daemon a single-node swarm (advertising 127.0.0.1) when
// it is not in one already. Test processes on one machine share the
// swarm: each holds a shared flock on SwarmLock while it uses it, and the
// returned leave leaves the swarm only if a berth test or benchmark made it
// and no other holds the lock, so a developer's own swarm is never touched
// and no run pulls the swarm from under another.
func Swarm(ctx context.Context, c *engine.Client) (leave func(), err error) {
	f, err := os.OpenFile(SwarmLock, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, err
	}
	fd := int(f.Fd())
	// A swarm that is already up is joined under the shared lock alone, so
	// a run does not wait for every other run to end; only making one
	// needs the exclusive lock (no one leaves while a shared one is held).
	if err := unix.Flock(fd, unix.LOCK_SH); err != nil {
		f.Close()
		return nil, err
	}
	if info, err := c.Info(ctx); err != nil || info.Swarm.LocalNodeState != swarm.LocalNodeStateActive {
		if err := unix.Flock(fd, unix.LOCK_EX); err != nil {
			f.Close()
			return nil, err
		}
		if err := ensureSwarm(ctx, c); err != nil {
			f.Close()
			return nil, err
		}
		if err := unix.Flock(fd, unix.LOCK_SH); err != nil {
			f.Close()
			return nil, err
		}
	} else if !info.Swarm.ControlAvailable {
		f.Close()
		return nil, fmt.Errorf("this daemon is a swarm worker: the swarm tests need a manager")
	}
	return func() {
		defer f.Close()
		if unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB) != nil {
			return // another run still uses the swarm
		}
		if _, err := os.Stat(SwarmLock + ".made"); err != nil {
			return // not ours to leave
		}
		lctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if c.SwarmLeave(lctx, true) == nil {
			os.Remove(SwarmLock + ".made")
		}
	}, nil
}

func ensureSwarm(ctx context.Context, c *engine.Client) error {
	info, err := c.Info(ctx)
	if err != nil {
		return fmt.Errorf("daemon info: %w", err)
	}
	switch info.Swarm.LocalNodeState {
	case swarm.LocalNodeStateActive:
		if !info.Swarm.ControlAvailable {
			return fmt.Errorf("this daemon is a swarm worker: the swarm tests need a manager")
		}
		return nil
	case swarm.LocalNodeStateInactive:
	default:
		return fmt.Errorf("this daemon's swarm is %s: wait for it to settle, or leave it (docker swarm leave)", info.Swarm.LocalNodeState)
	}
	if _, err := c.SwarmInit(ctx, swarm.InitRequest{ListenAddr: "127.0.0.1:2377", AdvertiseAddr: "127.0.0.1"}); err != nil {
		return fmt.Errorf("make a single-node swarm: %w", err)
	}
	return os.WriteFile(SwarmLock+".made", nil, 0o666)
}

// Registry serves an in-memory image registry on 127.0.0.1 inside the test
// process; the daemon treats 127.0.0.0/8 registries as insecure, so it
// pushes and pulls there without configuration. It returns HOST:PORT.
func Registry() (addr string, stop func(), err error) {
	addr, _, stop, err = CountingRegistry()
	return addr, stop, err
}

// CountingRegistry is Registry that also counts the requests for image
// manifests it has answered (GET or HEAD /v2/NAME/manifests/REF): every pull
// of an image asks for its manifest at least once.
func CountingRegistry() (addr string, pulls *atomic.Int64, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, nil, err
	}
	pulls = new(atomic.Int64)
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if (r.Method == http.MethodGet || r.Method == http.MethodHead) && strings.Contains(r.URL.Path, "/manifests/") {
			pulls.Add(1)
		}
		reg.ServeHTTP(w, r)
	})
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return ln.Addr().String(), pulls, func() { srv.Close() }, nil
}

// PushOnly tags the local image src as ref, pushes it to ref's registry and
// takes the tag away again, so that the daemon has ref only once it pulls it.
func PushOnly(ctx context.Context, c *engine.Client, src, ref string) error {
	if err := c.ImageTag(ctx, src, ref); err != nil {
		return err
	}
	rc, err := c.ImagePush(ctx, ref, image.PushOptions{RegistryAuth: "e30="})
	if err != nil {
		return err
	}
	defer rc.Close()
	if err := jsonmessage.DisplayJSONMessagesStream(rc, io.Discard, 0, false, nil); err != nil {
		return fmt.Errorf("push %s: %w", ref, err)
	}
	_, err = c.ImageRemove(ctx, ref, image.RemoveOptions{})
	return err
}
