package metadata

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDuplicateKeyFirstWinsWithWarning(t *testing.T) {
	m, err := ParseMetadata(".metadata", []byte("engine_version=v1.0.0\ntemplate=backend\nengine_version=v2.0.0\n"))
	if err != nil {
		t.Fatalf("a key set twice failed the parse: %v", err)
	}
	if v, _ := m.Get("engine_version"); v != "v1.0.0" {
		t.Fatalf("engine_version = %q, want the first value", v)
	}
	if len(m.Warnings) != 1 || !strings.Contains(m.Warnings[0], `.metadata:3: key "engine_version" is already set on line 1`) {
		t.Fatalf("warnings = %q", m.Warnings)
	}
	m.Set("engine_version", "v3.0.0")
	if got := string(m.Bytes()); got != "engine_version=v3.0.0\ntemplate=backend\n" {
		t.Fatalf("after Set: %q (every line of the key must go to the new value)", got)
	}
}

func TestLegacyGetFallsBack(t *testing.T) {
	m, err := ParseMetadata(".metadata", []byte("env_root=/old\nenv_name=dev\n"))
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := m.Get(KeyEnvironmentRoot); v != "/old" {
		t.Fatalf("environment_root = %q, want the env_root value", v)
	}
	if v, _ := m.Get(KeyEnvironmentName); v != "dev" {
		t.Fatalf("environment_name = %q", v)
	}
}

// The OQTOPUS CLI's migration: env_root, then env_name; each sets the new
// key to the old one's value, overwriting a value the new key had, and
// deletes the old key; a new key not yet there lands at the end.
func TestMigrateLegacy(t *testing.T) {
	tests := []struct{ in, out string }{
		{"template=backend\nenv_root=/e\nenv_name=dev\ninstall_root=/r\n",
			"template=backend\ninstall_root=/r\nenvironment_root=/e\nenvironment_name=dev\n"},
		{"environment_root=/new\nenv_root=/old\nx=1\n", "environment_root=/old\nx=1\n"},
		{"env_name=a\nenv_name=b\n", "environment_name=a\n"},
		{"template=backend\n", ""},
	}
	for _, tt := range tests {
		m, err := ParseMetadata(".metadata", []byte(tt.in))
		if err != nil {
			t.Fatal(err)
		}
		changed := m.MigrateLegacy()
		if tt.out == "" {
			if changed {
				t.Errorf("%q: migrated though there was no legacy key", tt.in)
			}
			continue
		}
		if got := string(m.Bytes()); got != tt.out {
			t.Errorf("migrate %q = %q, want %q", tt.in, got, tt.out)
		}
	}
}

func TestMigrateLegacyKeysOnDisk(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, MetadataFile)
	if err := os.WriteFile(path, []byte("template=demo\nenv_root="+dir+"\nenv_name=dev\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := MigrateLegacyKeys(dir); strings.Join(got, ",") != "env_root,env_name" {
		t.Fatalf("renamed %v", got)
	}
	data, _ := os.ReadFile(path)
	if string(data) != "template=demo\nenvironment_root="+dir+"\nenvironment_name=dev\n" {
		t.Fatalf("file = %q", data)
	}

	// A read-only file is left alone, and reads still find the values.
	ro := "template=demo\nenv_root=" + dir + "\n"
	if err := os.WriteFile(path, []byte(ro), 0o444); err != nil {
		t.Fatal(err)
	}
	os.Chmod(path, 0o444)
	if got := MigrateLegacyKeys(dir); got != nil {
		t.Fatalf("renamed %v in a read-only file", got)
	}
	if data, _ := os.ReadFile(path); string(data) != ro {
		t.Fatalf("read-only file changed to %q", data)
	}
	env, err := OpenUnchecked(dir)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := env.Meta.Get(KeyEnvironmentRoot); v != dir {
		t.Fatalf("environment_root = %q", v)
	}
}
