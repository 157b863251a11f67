package runtime

import (
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/berthdev/berth/metadata"
)

// environRef is environ as it was written first (a map of values), kept to
// hold the faster one to the same answer.
func environRef(env *metadata.Env, spec *metadata.Service, vars func(string) (string, bool)) (all, own []string) {
	vals := map[string]string{}
	var keys []string
	set := func(kv string) {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return
		}
		if _, seen := vals[k]; !seen {
			keys = append(keys, k)
		}
		vals[k] = v
	}
	for _, kv := range os.Environ() {
		set(kv)
	}
	isOwn := map[string]bool{}
	for _, kv := range env.DotEnv.Environ() {
		set(kv)
		k, _, _ := strings.Cut(kv, "=")
		isOwn[k] = true
	}
	var names []string
	for k := range spec.Env {
		names = append(names, k)
		isOwn[k] = true
	}
	sort.Strings(names)
	for _, k := range names {
		v, _ := metadata.Expand(spec.Env[k], vars)
		set(k + "=" + v)
	}
	for _, k := range spec.UnsetEnv {
		delete(vals, k)
	}
	for _, k := range keys {
		if v, ok := vals[k]; ok {
			all = append(all, k+"="+v)
			if isOwn[k] {
				own = append(own, k+"="+v)
			}
		}
	}
	return all, own
}

func TestEnvironAsBefore(t *testing.T) {
	t.Setenv("BERTH_T_OS", "from os")
	t.Setenv("BERTH_T_OVER", "os value")
	t.Setenv("BERTH_T_GONE", "unset me")
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "config"), 0o755)
	os.WriteFile(filepath.Join(root, "config", ".env"), []byte("BERTH_T_OVER=dotenv value\nBERTH_T_DOT=dot\nBERTH_T_DOTGONE=x\n"), 0o644)
	os.WriteFile(filepath.Join(root, "berth.yaml"), []byte("version: 1\nservices:\n  a: {command: [a]}\n"), 0o644)
	os.WriteFile(filepath.Join(root, metadata.MetadataFile), []byte("template=test\nenvironment_root="+root+"\n"), 0o644)
	env, err := metadata.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	vars, err := env.Vars("")
	if err != nil {
		t.Fatal(err)
	}
	for _, spec := range []*metadata.Service{
		{},
		{Env: map[string]string{"BERTH_T_OVER": "manifest ${ENV_NAME}", "BERTH_T_NEW": "new", "BERTH_T_OS": "again"}},
		{UnsetEnv: []string{"BERTH_T_GONE", "BERTH_T_DOTGONE", "BERTH_T_NEVER"}},
		{Env: map[string]string{"BERTH_T_GONE": "set", "Z": "z"}, UnsetEnv: []string{"BERTH_T_GONE", "BERTH_T_OVER"}},
	} {
		all, own, err := environ(env, "a", spec, vars)
		if err != nil {
			t.Fatal(err)
		}
		if len(spec.Env)+len(spec.UnsetEnv) == 0 && !slices.Contains(own, "BERTH_T_DOT=dot") {
			t.Fatalf("config/.env not read: own %q", own)
		}
		wantAll, wantOwn := environRef(env, spec, vars)
		if !slices.Equal(all, wantAll) || !slices.Equal(own, wantOwn) {
			t.Errorf("env %v unset %v:\nall %q\nwant %q\nown %q\nwant %q", spec.Env, spec.UnsetEnv, all, wantAll, own, wantOwn)
		}
	}
}

// BenchmarkResolve is what a start does for each service before it
// launches anything.
func BenchmarkResolve(b *testing.B) {
	root := b.TempDir()
	os.WriteFile(filepath.Join(root, "berth.yaml"), []byte("version: 1\nservices:\n  a: {command: [a, \"${ENV_ROOT}\"], env: {X: \"${ENV_NAME}\"}}\n"), 0o644)
	os.WriteFile(filepath.Join(root, metadata.MetadataFile), []byte("template=test\nenvironment_root="+root+"\n"), 0o644)
	env, err := metadata.Open(root)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Resolve(env, "a"); err != nil {
			b.Fatal(err)
		}
	}
}
