package swarm

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/swarm"

	"github.com/berthdev/berth/metadata"
	"github.com/berthdev/berth/runtime"
)

// fileRefs serves secrets and configs alike: an object berth made for the
// service from the same content is reused, a missing one is created with
// berth's labels, and one of the same name that is not berth's is refused.
func TestFileRefs(t *testing.T) {
	svc := &runtime.Service{Name: "api", Environment: "dev"}
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte("s3cret"), 0o600); err != nil {
		t.Fatal(err)
	}
	files := []metadata.SwarmFile{{File: file, Mode: "0400"}}
	name, _, _, err := fileObject(svc, "secrets", files[0])
	if err != nil {
		t.Fatal(err)
	}
	type ref struct {
		id, name, target string
		mode             os.FileMode
	}
	tests := []struct {
		name      string
		found     []swarmObject
		createErr error
		wantID    string
		wantMade  bool
		wantErr   string
	}{
		{"reuses berth's own", []swarmObject{{id: "old", name: name, labels: labels(svc)}}, nil, "old", false, ""},
		{"creates a missing one", []swarmObject{{id: "x", name: name + "-other", labels: labels(svc)}}, nil, "new", true, ""},
		{"refuses a foreign one", []swarmObject{{id: "f", name: name, labels: map[string]string{LabelService: "api"}}}, nil, "", false, "berth did not create for service api: berth leaves it alone; remove it (docker secret rm " + name + ")"},
		{"names the file when create fails", nil, errors.New("boom"), "", true, "service api: create swarm secret " + name + " from " + file + ": boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			made := false
			refs, err := fileRefs(svc, "secret", files, fileKind[ref]{
				list: func(n string) ([]swarmObject, error) {
					if n != name {
						t.Fatalf("listed %q, want %q", n, name)
					}
					return tt.found, nil
				},
				create: func(a swarm.Annotations, data []byte) (string, error) {
					made = true
					if a.Name != name || !owned(svc, a.Labels) || string(data) != "s3cret" {
						t.Fatalf("created %+v with %q", a, data)
					}
					return "new", tt.createErr
				},
				ref: func(id, name, target string, mode os.FileMode) ref { return ref{id, name, target, mode} },
			})
			if made != tt.wantMade {
				t.Fatalf("created = %v, want %v", made, tt.wantMade)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := ref{tt.wantID, name, "token", 0o400}
			if len(refs) != 1 || refs[0] != want {
				t.Fatalf("refs = %+v, want [%+v]", refs, want)
			}
		})
	}
}
