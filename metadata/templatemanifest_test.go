package metadata

import (
	"strings"
	"testing"
)

func TestTemplateManifest(t *testing.T) {
	tests := []struct {
		template, components string
		wantErr              bool
	}{
		{"backend", "engine tranqu gateway", false},
		{"demo", "api web", false},
		{"nope", "", true},
	}
	for _, tt := range tests {
		m, err := TemplateManifest(tt.template)
		if (err != nil) != tt.wantErr {
			t.Fatalf("%s: %v", tt.template, err)
		}
		if err == nil && strings.Join(m.ComponentOrder, " ") != tt.components {
			t.Fatalf("%s: components %v, want %s", tt.template, m.ComponentOrder, tt.components)
		}
	}
}
