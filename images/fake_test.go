package images

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/image"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berthdev/berth/images/engine"
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

// TestBuildWithFake: the daemon is reached and the tag inspected while the
// context is scanned; a connection error comes before a context error (as
// when berth connected first), and a current image is not built.
func TestBuildWithFake(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"Dockerfile": "FROM scratch\n", "a.txt": "a"})
	spec := &Spec{Name: "img", Component: "c", Version: "v1", Tag: "img:v1", Context: dir, Dockerfile: "Dockerfile"}
	down := errors.New("daemon down")
	fail := func() (*engine.Client, error) { return nil, down }
	if _, err := BuildWith(context.Background(), fail, &Spec{Name: "img", Context: t.TempDir(), Dockerfile: "Dockerfile"}, BuildOptions{}); !errors.Is(err, down) {
		t.Fatalf("no daemon and no Dockerfile: %v, want the daemon's error", err)
	}
	bc, err := scanContext(dir, "Dockerfile", nil)
	if err != nil {
		t.Fatal(err)
	}
	inspected := 0
	c := (&enginetest.Fake{ImageInspectFunc: func(_ context.Context, ref string) (image.InspectResponse, error) {
		inspected++
		labels := map[string]string{LabelVersion: "v1", LabelInputs: bc.digest}
		return image.InspectResponse{ID: "sha256:1", Config: &dockerspec.DockerOCIImageConfig{ImageConfig: ocispec.ImageConfig{Labels: labels}}}, nil
	}}).Client()
	res, err := BuildWith(context.Background(), func() (*engine.Client, error) { return c, nil }, spec, BuildOptions{})
	if err != nil || !res.Skipped || res.ID != "sha256:1" || inspected != 1 {
		t.Fatalf("current image: %+v, %v, inspected %d times", res, err, inspected)
	}
}

// TestRebuildInspectsTheTagOnce: a stale image berth built is inspected
// once, while the context is scanned, and that inspection says which image
// the rebuild leaves nameless and removes (it was asked for again before
// the build).
func TestRebuildInspectsTheTagOnce(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"Dockerfile": "FROM scratch\n", "a.txt": "a"})
	spec := &Spec{Name: "img", Component: "c", Version: "v1", Tag: "img:v1", Context: dir, Dockerfile: "Dockerfile"}
	inspected := 0
	var removed []string
	c := (&enginetest.Fake{
		ImageInspectFunc: func(_ context.Context, ref string) (image.InspectResponse, error) {
			inspected++
			labels := map[string]string{LabelImage: "img", LabelVersion: "v1", LabelInputs: "an older context"}
			return image.InspectResponse{ID: "sha256:1", RepoTags: []string{"img:v1"},
				Config: &dockerspec.DockerOCIImageConfig{ImageConfig: ocispec.ImageConfig{Labels: labels}}}, nil
		},
		ImageBuildFunc: func(context.Context, io.Reader, build.ImageBuildOptions) (build.ImageBuildResponse, error) {
			return build.ImageBuildResponse{Body: io.NopCloser(strings.NewReader(`{"aux":{"ID":"sha256:2"}}` + "\n"))}, nil
		},
		ImageRemoveFunc: func(_ context.Context, ref string, _ image.RemoveOptions) ([]image.DeleteResponse, error) {
			removed = append(removed, ref)
			return nil, nil
		},
	}).Client()
	res, err := BuildWith(context.Background(), func() (*engine.Client, error) { return c, nil }, spec, BuildOptions{Builder: BuilderClassic})
	if err != nil || res.Skipped || res.ID != "sha256:2" {
		t.Fatalf("rebuild of a stale image: %+v, %v", res, err)
	}
	if inspected != 1 || len(removed) != 1 || removed[0] != "sha256:1" {
		t.Errorf("tag inspected %d times, removed %v; want once, and sha256:1 removed", inspected, removed)
	}
}
