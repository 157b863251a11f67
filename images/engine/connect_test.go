package engine

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestNewClientUnreachable(t *testing.T) {
	missing := "unix://" + filepath.Join(t.TempDir(), "missing.sock")
	tests := []struct {
		name       string
		dockerHost string
		ep         Endpoint
	}{
		{"DOCKER_HOST", missing, Endpoint{}},
		{"explicit endpoint", "", Endpoint{Host: missing}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("DOCKER_HOST", tt.dockerHost)
			_, err := NewClient(context.Background(), tt.ep)
			var ue *UnreachableError
			if !errors.As(err, &ue) {
				t.Fatalf("NewClient: got %v, want an UnreachableError", err)
			}
			if ue.Endpoint != missing || !strings.Contains(err.Error(), missing) {
				t.Errorf("error %q does not name endpoint %s", err, missing)
			}
		})
	}
}
