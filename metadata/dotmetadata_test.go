package metadata

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseMetadata(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    [][2]string
		wantErr []string // substrings, each must appear
		out     string   // Bytes() after parse, if set
	}{
		{
			name: "oqtopus file",
			in:   "template=backend\ninstall_root=/r\nenvironment_name=dev\nenvironment_root=/e\ncreated_at=2026-01-01T00:00:00Z\nengine_version=v2.1.1\n",
			want: [][2]string{{"template", "backend"}, {"install_root", "/r"}, {"environment_name", "dev"}, {"environment_root", "/e"}, {"created_at", "2026-01-01T00:00:00Z"}, {"engine_version", "v2.1.1"}},
		},
		{
			name: "unknown keys, comments and order kept",
			in:   "# made by hand\nzeta=1\n\nalpha=2\ntranqu_version=branch:develop\n",
			want: [][2]string{{"zeta", "1"}, {"alpha", "2"}, {"tranqu_version", "branch:develop"}},
			out:  "# made by hand\nzeta=1\n\nalpha=2\ntranqu_version=branch:develop\n",
		},
		{
			name: "CRLF line ends",
			in:   "template=backend\r\nenvironment_name=dev\r\n",
			want: [][2]string{{"template", "backend"}, {"environment_name", "dev"}},
			out:  "template=backend\nenvironment_name=dev\n",
		},
		{
			name: "value keeps later equals signs",
			in:   "note=a=b\n",
			want: [][2]string{{"note", "a=b"}},
		},
		{
			name: "no trailing newline",
			in:   "template=demo",
			want: [][2]string{{"template", "demo"}},
		},
		{
			name: "legacy keys read as they are",
			in:   "env_root=/old\nenv_name=dev\n",
			want: [][2]string{{"env_root", "/old"}, {"env_name", "dev"}},
			out:  "env_root=/old\nenv_name=dev\n",
		},
		{
			name: "a key set twice keeps its first value and its lines",
			in:   "a=1\nb=2\na=3\n",
			want: [][2]string{{"a", "1"}, {"b", "2"}},
			out:  "a=1\nb=2\na=3\n",
		},
		{
			name:    "garbage lines reported with their numbers",
			in:      "template=backend\nthis is not a pair\n=nokey\nok=1\n",
			wantErr: []string{".metadata:2: expected key=value", ".metadata:3: invalid key"},
		},
		{
			name:    "invalid utf-8",
			in:      "template=backend\nname=\xff\xfe\n",
			wantErr: []string{".metadata:2: not valid UTF-8"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ParseMetadata(".metadata", []byte(tt.in))
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("want error, got none")
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := m.Pairs()
			if len(got) != len(tt.want) {
				t.Fatalf("pairs = %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("pair %d = %v, want %v", i, got[i], tt.want[i])
				}
			}
			if tt.out != "" && string(m.Bytes()) != tt.out {
				t.Errorf("Bytes() = %q, want %q", m.Bytes(), tt.out)
			}
		})
	}
}

func TestMetadataSetDelete(t *testing.T) {
	m, err := ParseMetadata("x", []byte("a=1\nb=2\nc=3\n"))
	if err != nil {
		t.Fatal(err)
	}
	m.Set("b", "20")
	m.Set("d", "4")
	if !m.Delete("a") || m.Delete("zz") {
		t.Fatal("Delete reported wrongly")
	}
	if got := string(m.Bytes()); got != "b=20\nc=3\nd=4\n" {
		t.Fatalf("got %q", got)
	}
}

func TestWriteMetadataReadOnly(t *testing.T) {
	// berth checks the mode bits itself, so this holds even for root, who
	// could write the file anyway.
	dir := t.TempDir()
	path := filepath.Join(dir, MetadataFile)
	orig := "template=backend\n"
	if err := os.WriteFile(path, []byte(orig), 0o444); err != nil {
		t.Fatal(err)
	}
	m, _ := ParseMetadata(path, []byte(orig))
	m.Set("engine_version", "v1.0.0")
	err := WriteMetadata(path, m)
	if err == nil || !strings.Contains(err.Error(), "read-only") || !strings.Contains(err.Error(), "chmod u+w") {
		t.Fatalf("err = %v, want a read-only error with the fix", err)
	}
	if data, _ := os.ReadFile(path); string(data) != orig {
		t.Fatalf("file changed to %q", data)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("left temporary files: %v", entries)
	}
}

func TestWriteMetadataKeepsModeAndIsWhole(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, MetadataFile)
	if err := os.WriteFile(path, []byte("a=1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	m, _ := ReadMetadata(path)
	m.Set("b", "2")
	if err := WriteMetadata(path, m); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", fi.Mode().Perm())
	}
	if data, _ := os.ReadFile(path); string(data) != "a=1\nb=2\n" {
		t.Errorf("content = %q", data)
	}
}

func FuzzParseMetadata(f *testing.F) {
	f.Add([]byte("template=backend\nengine_version=v1.2.3\n"))
	f.Add([]byte("# c\r\nenv_root=/x\n\n"))
	f.Add([]byte("bad line\n=x\n\xff=1"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseMetadata("fuzz", data)
		if err != nil {
			return
		}
		// What berth writes, it must read back to the same pairs.
		again, err := ParseMetadata("fuzz", m.Bytes())
		if err != nil {
			t.Fatalf("re-parse of %q: %v", m.Bytes(), err)
		}
		a, b := m.Pairs(), again.Pairs()
		if len(a) != len(b) {
			t.Fatalf("pairs changed: %v -> %v", a, b)
		}
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("pair %d changed: %v -> %v", i, a[i], b[i])
			}
		}
	})
}
