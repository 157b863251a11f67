package compose

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/berthdev/berth/metadata"
)

// composeFile is the part of a compose file berth reads: which services it
// declares and the stop signal of each. Everything else is compose's own
// business, and compose itself reads the file when berth runs it.
//
// berth reads these few keys itself rather than through compose-go: linking
// compose-go costs every berth command about 4 ms of package
// initialisation (its JSON-schema validator), which alone would take
// `berth status` of 100 services from about 8 ms to 16 ms.
type composeFile struct {
	Services map[string]composeService `yaml:"services"`
}

type composeService struct {
	StopSignal string `yaml:"stop_signal"`
}

func (f *composeFile) names() []string {
	out := make([]string, 0, len(f.Services))
	for n := range f.Services {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// readComposeFile reads path; env (KEY=VALUE) interpolates ${VAR} in the
// values berth uses, as compose would.
func readComposeFile(path string, env []string) (*composeFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("compose file: %w", err)
	}
	var f composeFile
	if err := yaml.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("compose file %s: %w", path, err)
	}
	if len(f.Services) == 0 {
		return nil, fmt.Errorf("compose file %s declares no services", path)
	}
	vars := map[string]string{}
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			vars[k] = v
		}
	}
	lookup := func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	for n, s := range f.Services {
		if s.StopSignal == "" {
			continue
		}
		if v, err := metadata.Expand(s.StopSignal, lookup); err == nil {
			s.StopSignal = v
			f.Services[n] = s
		}
	}
	return &f, nil
}
