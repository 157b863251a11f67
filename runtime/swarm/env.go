package swarm

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/berthdev/berth/images"
	"github.com/berthdev/berth/images/engine"
	"github.com/berthdev/berth/metadata"
)

// ForEnv configures a runner for an environment: the default Docker
// endpoint (a swarm manager), and swarm.image read as a manifest image name
// when there is one. Close closes the client once the runner is done.
func ForEnv(env *metadata.Env, progress io.Writer) (opts Options, close func()) {
	var (
		mu  sync.Mutex
		cli *engine.Client
	)
	opts.Client = func(ctx context.Context) (API, error) {
		mu.Lock()
		defer mu.Unlock()
		if cli != nil {
			return cli, nil
		}
		c, err := engine.NewClient(ctx, engine.Endpoint{})
		if err != nil {
			return nil, err
		}
		cli = c
		return cli, nil
	}
	opts.Image = func(image string) (string, string, string, error) {
		img := env.Manifest.Images[image]
		if img == nil {
			return image, "", "", nil
		}
		spec, err := images.SpecFor(env, image)
		if err != nil {
			return "", "", "", err
		}
		return spec.Tag, img.Registry, fmt.Sprintf("build it with berth build %s", image), nil
	}
	opts.Progress = progress
	return opts, func() {
		mu.Lock()
		defer mu.Unlock()
		if cli != nil {
			cli.Close()
		}
	}
}
