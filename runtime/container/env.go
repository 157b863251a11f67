package container

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/berthdev/berth/images"
	"github.com/berthdev/berth/images/engine"
	"github.com/berthdev/berth/metadata"
)

// ForEnv configures a runner for an environment: the clients of the
// manifest's hosts from clients (which the caller closes), and
// container.image read as a manifest image name when there is one; pull
// progress goes to progress.
func ForEnv(env *metadata.Env, clients *engine.Clients, progress io.Writer) Options {
	return Options{Client: clients.Get, Progress: progress, Image: func(image string) (string, string, error) {
		return ImageRef(env, image)
	}}
}

// Endpoints maps the manifest's host names to their Docker endpoints, TLS
// files relative to the environment root; "" is the default daemon.
func Endpoints(env *metadata.Env) func(host string) (engine.Endpoint, error) {
	return func(host string) (engine.Endpoint, error) {
		if host == "" {
			return engine.Endpoint{}, nil
		}
		h := env.Manifest.Hosts[host]
		if h == nil {
			return engine.Endpoint{}, fmt.Errorf("unknown host %q: declare it under hosts in berth.yaml", host)
		}
		ep := engine.EndpointFor(h)
		if h.TLS != nil {
			t := *h.TLS
			for _, p := range []*string{&t.CA, &t.Cert, &t.Key} {
				if *p != "" && !filepath.IsAbs(*p) {
					*p = env.Path(filepath.FromSlash(*p))
				}
			}
			ep.TLS = &t
		}
		return ep, nil
	}
}

// ImageRef is the local reference of a container.image: the tag of the
// manifest image of that name for the bound component version, or the name
// itself. The hint says which berth command makes a missing image.
func ImageRef(env *metadata.Env, image string) (ref, hint string, err error) {
	img := env.Manifest.Images[image]
	if img == nil {
		return image, "", nil
	}
	spec, err := images.SpecFor(env, image)
	if err != nil {
		return "", "", err
	}
	return spec.Tag, fmt.Sprintf("build it with berth build %s (or berth install %s, which builds it)", image, img.Component), nil
}
