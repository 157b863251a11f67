package compose

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadComposeFile(t *testing.T) {
	tests := []struct {
		name, text, err string
		services        []string
		signal          string // of service a
	}{
		{name: "services and signals", text: "services:\n  a:\n    image: x\n    stop_signal: SIGINT\n  b:\n    image: y\n", services: []string{"a", "b"}, signal: "SIGINT"},
		{name: "interpolated signal", text: "services:\n  a:\n    stop_signal: ${SIG}\n", services: []string{"a"}, signal: "SIGQUIT"},
		{name: "service without body", text: "services:\n  a:\n", services: []string{"a"}},
		{name: "no services", text: "volumes: {}\n", err: "declares no services"},
		{name: "not yaml", text: "services: [\n", err: "compose file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "compose.yaml")
			os.WriteFile(p, []byte(tt.text), 0o644)
			f, err := readComposeFile(p, []string{"SIG=SIGQUIT"})
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(f.names(), ","); got != strings.Join(tt.services, ",") {
				t.Errorf("services = %s", got)
			}
			if got := f.Services["a"].StopSignal; got != tt.signal {
				t.Errorf("stop signal = %q, want %q", got, tt.signal)
			}
		})
	}
}
