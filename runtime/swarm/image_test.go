package swarm

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/api/types/system"
	"github.com/docker/docker/client"

	"github.com/berthdev/berth/metadata"
	"github.com/berthdev/berth/runtime"
)

// fakeAPI answers the calls image resolution makes; any other call panics
// through the nil embedded API.
type fakeAPI struct {
	API
	info  system.Info
	nodes []swarm.Node
	local map[string]image.InspectResponse
}

func (f *fakeAPI) Info(context.Context) (system.Info, error) { return f.info, nil }
func (f *fakeAPI) NodeList(context.Context, swarm.NodeListOptions) ([]swarm.Node, error) {
	return f.nodes, nil
}
func (f *fakeAPI) ImageInspect(_ context.Context, ref string, _ ...client.ImageInspectOption) (image.InspectResponse, error) {
	if i, ok := f.local[ref]; ok {
		return i, nil
	}
	return image.InspectResponse{}, notFound{}
}

type notFound struct{}

func (notFound) Error() string { return "no such image" }
func (notFound) NotFound()     {}

func node(id, host string) swarm.Node {
	return swarm.Node{ID: id, Description: swarm.NodeDescription{Hostname: host}}
}

func TestResolveImage(t *testing.T) {
	manifestImage := func(string) (string, string, string, error) {
		return "api:dev", "", "build it with berth build api", nil
	}
	withRegistry := func(string) (string, string, string, error) { return "api:dev", "reg:5000/t", "build it", nil }
	single := system.Info{Swarm: swarm.Info{LocalNodeState: swarm.LocalNodeStateActive, ControlAvailable: true, NodeID: "n1", Nodes: 1}}
	multi := single
	multi.Swarm.Nodes = 3
	nodes := []swarm.Node{node("n1", "alpha"), node("n3", "gamma"), node("n2", "beta")}
	local := map[string]image.InspectResponse{"api:dev": {ID: "sha256:aaa", RepoDigests: []string{"reg:5000/t/api@sha256:ddd"}}}
	svc := &runtime.Service{Name: "api"}
	for _, tc := range []struct {
		name    string
		info    system.Info
		img     ImageFunc
		wantRef string
		wantErr string
	}{
		{"single node pins the local image by ID", single, manifestImage, "sha256:aaa", ""},
		{"a registry deploys by digest", multi, withRegistry, "reg:5000/t/api@sha256:ddd", ""},
		{"several nodes without a registry are refused, naming them", multi, manifestImage, "",
			"image api:dev is only on this node; beta, gamma cannot get it: name a registry for image api in berth.yaml (images.api.registry)"},
		{"a reference the nodes pull themselves", multi, nil, "busybox:1", ""},
		{"not a swarm", system.Info{}, manifestImage, "", "not a swarm manager"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := New(Options{Image: tc.img})
			sw := &metadata.SwarmSpec{Image: "api"}
			if tc.img == nil {
				sw.Image = "busybox:1"
			}
			ref, _, err := r.resolveImage(context.Background(), &fakeAPI{info: tc.info, nodes: nodes, local: local}, svc, sw)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v; want %q", err, tc.wantErr)
				}
				var me *MissingImageError
				if strings.Contains(tc.wantErr, "only on this node") && !errors.As(err, &me) {
					t.Fatalf("err %T is not a *MissingImageError", err)
				}
				return
			}
			if err != nil || ref != tc.wantRef {
				t.Fatalf("ref = %q, %v; want %q", ref, err, tc.wantRef)
			}
		})
	}
}
