package metadata

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"go.yaml.in/yaml/v3"
)

// strictCases are manifests whose unknown keys hide where a shortcut could
// miss them: inline structs, pointers, lists, maps of structs, custom
// unmarshalers, aliases, merge keys, duplicates and flow mappings where a
// type error and an unknown key share a line.
var strictCases = []string{
	"version: 1\nservices:\n  a: {command: [x]}\n",
	"version: 1\nservies: {}\n",
	"version: 1\nservices:\n  a: {command: [x], bogus: 1}\n",
	"version: 1\nservices:\n  a: {bogus: 1, command: 5}\n",
	"version: 1\nservices:\n  a: {command: 5, bogus: 1}\n",
	"version: 1\ntasks:\n  t: {run: [x], retries: 2, bogus: 1}\n",
	"version: 1\ntasks:\n  t: {run: [x], args: [{name: a, bogus: 1}]}\n",
	"version: 1\nservices:\n  a: {command: [x], health: {type: tcp, address: 'x:1', bogus: 1}}\n",
	"version: 1\nservices:\n  a: {command: [x], log: {to: file, bogus: 1}}\n",
	"version: 1\nservices:\n  a: {command: [x], hooks: {post_start: [{run: [y], bogus: 1}]}}\n",
	"version: 1\ncomponents:\n  c: {repo: r, setup: [{run: [x], bogus: 1}]}\n",
	"version: 1\nhosts:\n  h: {endpoint: 'tcp://h:1', tls: {ca: x, bogus: 1}}\n",
	"version: 1\nservices:\n  a: {runner: container, container: {image: i, resources: {bogus: 1}}}\n",
	"version: 1\nservices:\n  a: {runner: swarm, swarm: {image: i, ports: [{target: 1, bogus: 1}]}}\n",
	"version: 1\nservices:\n  a: {command: [x], depends_on: {b: {bogus: 1}}}\n  b: {command: [y]}\n",
	"version: 1\nservices:\n  a: {command: [x], stop_timeout: {bogus: 1}}\n",
	"version: 1\nservices:\n  a: &s {command: [x]}\n  b: *s\n",
	"version: 1\nservices:\n  a: &s {command: [x], bogus: 1}\n  b: *s\n",
	"version: 1\nx: &s {command: [x]}\nservices:\n  a: {<<: *s, bogus: 1}\n",
	"version: 1\nservices:\n  a: {<<: {command: [x], bogus: 1}}\n",
	"version: 1\nservices:\n  a: {command: [x], command: [y], bogus: 1}\n",
	"version: 1\nservices:\n  a: {command: [x], 1: 2}\n",
	"version: 1\nservices:\n  a: {command: [x], ~: 2}\n",
	"version: 1\nservices:\n  a: {command: [x], !!str bogus: 2}\n",
	"version: 1\nservices:\n  a: {command: [x], [k]: 2}\n",
	"version: 1\nservices:\n  a: !!map {command: [x], bogus: 1}\n",
	"version: 1\nservices:\n  a: ~\n",
	"version: 1\nservices: [1, 2]\n",
	"version: 1\nservices:\n  a: [command, x]\n",
	"# only a comment\n",
	"",
	"---\n",
	"version: 1\n---\nbogus: 1\n",
}

// TestParseManifestFromTreeIsStrict holds the single parse to the strict
// decoder's word: the same manifest and the same problems, in the same
// order, for every case above, the templates and the golden files.
func TestParseManifestFromTreeIsStrict(t *testing.T) {
	cases := append([]string{goodManifest, swarmManifest}, strictCases...)
	for _, dir := range []string{"templates", "testdata"} {
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.Name() == ManifestFile {
				b, _ := os.ReadFile(p)
				cases = append(cases, string(b))
			}
			return nil
		})
	}
	if len(cases) < len(strictCases)+4 {
		t.Fatalf("found only %d manifests", len(cases))
	}
	for _, c := range cases {
		sameAsStrict(t, []byte(c))
	}
	// The shortcut is taken where it should be, or the comparison above
	// would only compare the strict decoder with itself.
	for _, c := range append([]string{goodManifest, swarmManifest, strictCases[0]}, cases[len(strictCases)+2:]...) {
		var root yaml.Node
		if err := yaml.Unmarshal([]byte(c), &root); err != nil || !strictCheck(&root, manifestType) {
			t.Errorf("a valid manifest went to the strict decoder (%v):\n%s", err, c)
		}
	}
}

func FuzzParseManifestFromTreeIsStrict(f *testing.F) {
	for _, c := range append([]string{goodManifest, swarmManifest}, strictCases...) {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, data []byte) { sameAsStrict(t, data) })
}

func sameAsStrict(t *testing.T, data []byte) {
	t.Helper()
	got, gerr := parseManifest("berth.yaml", data, true, nil)
	want, werr := parseManifest("berth.yaml", data, false, nil)
	if (gerr == nil) != (werr == nil) || (gerr != nil && gerr.Error() != werr.Error()) {
		t.Fatalf("manifest:\n%s\nfrom the tree: %v\nstrict:        %v", data, gerr, werr)
	}
	if gerr != nil && !errors.As(gerr, new(*ManifestError)) {
		t.Fatalf("error %T is not a *ManifestError", gerr)
	}
	if (got == nil) != (want == nil) {
		t.Fatalf("manifest:\n%s\nfrom the tree %v, strict %v", data, got, want)
	}
	if got == nil {
		return
	}
	if !reflect.DeepEqual(got.graph.StartOrder(), want.graph.StartOrder()) {
		t.Fatalf("manifest:\n%s\nstart orders differ", data)
	}
	g, w := *got, *want
	g.graph, w.graph = nil, nil
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("manifest:\n%s\nfrom the tree: %+v\nstrict:        %+v", data, g, w)
	}
}
