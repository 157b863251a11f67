package runtime

import (
	"context"
	"fmt"
)

// ImagePuller is a runner whose services run images it can pull (the
// container and swarm runners).
type ImagePuller interface {
	// PullImage pulls the image of svc now, whatever its pull policy says
	// but never. It returns the reference pulled, or why nothing was pulled
	// (skipped: a manifest image, which berth builds, or pull: never).
	PullImage(ctx context.Context, svc *Service) (ref, skipped string, err error)
}

// PullResult is what berth pull did for one service.
type PullResult struct {
	Service string `json:"service"`
	Image   string `json:"image,omitempty"`
	Pulled  bool   `json:"pulled"`
	// Skipped says why nothing was pulled.
	Skipped string `json:"skipped,omitempty"`
	Error   string `json:"error,omitempty"`
}

// Pull pulls the images of the named services (all when names is empty),
// one after another in manifest order (the daemon shares layers between
// them). A service whose runner runs no image is skipped, saying so. The
// error names every service whose pull failed; the others are pulled.
func (m *Manager) Pull(ctx context.Context, names []string) ([]PullResult, error) {
	sel := m.Env.Manifest.ServiceOrder
	if len(names) > 0 {
		var err error
		if sel, _, err = Select(m.Env.Manifest, names, m.Env.Manifest.ServiceOrder); err != nil {
			return nil, err
		}
	}
	var out []PullResult
	var failed []string
	var first error
	for _, n := range sel {
		svc, run, err := m.base(n)
		if err != nil {
			return out, err
		}
		res := PullResult{Service: n}
		p, ok := run.(ImagePuller)
		if !ok {
			res.Skipped = fmt.Sprintf("a %s service runs no image berth pulls", svc.Runner)
			out = append(out, res)
			continue
		}
		res.Image, res.Skipped, err = p.PullImage(ctx, svc)
		res.Pulled = err == nil && res.Skipped == ""
		if err != nil {
			res.Error = err.Error()
			failed = append(failed, n)
			if first == nil {
				first = err
			}
		}
		out = append(out, res)
	}
	switch len(failed) {
	case 0:
		return out, nil
	case 1:
		return out, first
	}
	return out, fmt.Errorf("%w (and the pulls of %d more services failed: %v)", first, len(failed)-1, failed[1:])
}
