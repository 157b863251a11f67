package images

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/image"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berthdev/berth/images/engine/enginetest"
)

// TestStateOfFake: an image is missing only when the daemon says not
// found; any other failure is an error naming the daemon, not "missing".
func TestStateOfFake(t *testing.T) {
	spec := &Spec{Name: "sse-runtime", Component: "sse", Version: "v2.0.0", Tag: "sse-runtime:v2.0.0"}
	labelled := func(labels map[string]string) func(context.Context, string) (image.InspectResponse, error) {
		return func(context.Context, string) (image.InspectResponse, error) {
			return image.InspectResponse{ID: "sha256:1", Config: &dockerspec.DockerOCIImageConfig{ImageConfig: ocispec.ImageConfig{Labels: labels}}}, nil
		}
	}
	tests := []struct {
		name    string
		inspect func(context.Context, string) (image.InspectResponse, error)
		want    State
		wantErr string
	}{
		{"not found", func(context.Context, string) (image.InspectResponse, error) {
			return image.InspectResponse{}, enginetest.NotFound("image")
		}, StateMissing, ""},
		{"daemon error", func(context.Context, string) (image.InspectResponse, error) {
			return image.InspectResponse{}, errors.New("permission denied")
		}, "", "inspect sse-runtime:v2.0.0 at fake://engine: permission denied"},
		{"current", labelled(map[string]string{LabelVersion: "v2.0.0", LabelInputs: "d1"}), StateCurrent, ""},
		{"other version", labelled(map[string]string{LabelVersion: "v1.0.0", LabelInputs: "d1"}), StateStale, ""},
		{"other inputs", labelled(map[string]string{LabelVersion: "v2.0.0", LabelInputs: "d0"}), StateStale, ""},
		{"not berth's", labelled(nil), StateStale, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := (&enginetest.Fake{ImageInspectFunc: tt.inspect}).Client()
			st, err := stateOf(context.Background(), c, spec, "d1")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %+v, %v; want error %q", st, err, tt.wantErr)
				}
				return
			}
			if err != nil || st.State != tt.want {
				t.Errorf("got %+v, %v; want %s", st, err, tt.want)
			}
		})
	}
}

// TestChooseBuilderFake: the builder follows what the daemon can do.
func TestChooseBuilderFake(t *testing.T) {
	plain, mount := []byte("FROM scratch\n"), []byte("FROM scratch\nRUN --mount=type=cache,target=/x true\n")
	tests := []struct {
		name, version, os string
		want              Builder
		dockerfile        []byte
		wantErr           bool
	}{
		{"linux 1.41", "1.41", "linux", BuilderBuildKit, plain, false},
		{"old api", "1.38", "linux", BuilderClassic, plain, false},
		{"old api needs buildkit", "1.38", "linux", "", mount, true},
		{"windows", "1.41", "windows", BuilderClassic, plain, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := (&enginetest.Fake{Version: tt.version}).Client()
			c.Ping.OSType = tt.os
			got, err := chooseBuilder(c, "img", BuilderAuto, tt.dockerfile)
			var bke *BuildKitUnavailableError
			if tt.wantErr != errors.As(err, &bke) || (!tt.wantErr && got != tt.want) {
				t.Errorf("got %s, %v; want %s (error %v)", got, err, tt.want, tt.wantErr)
			}
		})
	}
}
