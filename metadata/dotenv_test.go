package metadata

import (
	"strings"
	"testing"
)

func TestParseDotEnv(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    map[string]string
		wantErr string
	}{
		{"plain", "A=1\nB=two words\n", map[string]string{"A": "1", "B": "two words"}, ""},
		{"blank and comment lines", "\n# comment\n   # indented\nA=1\n", map[string]string{"A": "1"}, ""},
		{"double quotes", `IMG="env-sse_runtime:latest"`, map[string]string{"IMG": "env-sse_runtime:latest"}, ""},
		{"single quotes keep everything inside", `P='a # b "c"'`, map[string]string{"P": `a # b "c"`}, ""},
		{"quoted then comment", `A="x" # note`, map[string]string{"A": "x"}, ""},
		{"quoted hash kept", `A="x # y"`, map[string]string{"A": "x # y"}, ""},
		{"trailing comment dropped", "A=value # note\n", map[string]string{"A": "value"}, ""},
		{"tab before comment", "A=value\t# note\n", map[string]string{"A": "value"}, ""},
		{"hash without space kept", "URL=http://x/#frag\nC=a#b\n", map[string]string{"URL": "http://x/#frag", "C": "a#b"}, ""},
		{"empty value", "A=\nB=\"\"\n", map[string]string{"A": "", "B": ""}, ""},
		{"only a comment", "A= # nothing\n", map[string]string{"A": ""}, ""},
		{"value starting with hash", "A=#x\n", map[string]string{"A": "#x"}, ""},
		{"CRLF", "A=1\r\nB=\"q\"\r\n", map[string]string{"A": "1", "B": "q"}, ""},
		{"blanks after the value", "A=1  \n", map[string]string{"A": "1"}, ""},
		// The OQTOPUS CLI exports only a key that starts the line and
		// touches '=': these are no variables for it, so not for berth.
		{"key not at the line start", "  A=1\n\tB=2\nC=3\n", map[string]string{"C": "3"}, ""},
		{"blank before equals", "A =1\nB= 2\n", map[string]string{"B": "2"}, ""},
		{"later wins", "A=1\nA=2\n", map[string]string{"A": "2"}, ""},
		{"equals in value", "A=b=c\n", map[string]string{"A": "b=c"}, ""},
		{"unterminated quote", "A=1\nB=\"open\n", nil, ".env:2: B: unterminated \" quote"},
		{"text after quote", "A='x'y\n", nil, ".env:1: A: unexpected \"y\" after the closing ' quote"},
		{"bad key", "1A=x\n", nil, ".env:1: invalid variable name \"1A\""},
		{"export is not a key", "export A=x\n", nil, ".env:1: invalid variable name \"export A\""},
		{"no equals", "JUSTTEXT\n", nil, ".env:1: expected KEY=value"},
		{"invalid utf-8", "A=\xff\n", nil, ".env:1: not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := ParseDotEnv(".env", []byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(d.Values) != len(tt.want) {
				t.Fatalf("got %v, want %v", d.Values, tt.want)
			}
			for k, v := range tt.want {
				if got, ok := d.Get(k); !ok || got != v {
					t.Errorf("%s = %q (set %v), want %q", k, got, ok, v)
				}
			}
		})
	}
}

func TestDotEnvEnvironOrder(t *testing.T) {
	d, err := ParseDotEnv(".env", []byte("B=2\nA=1\nB=3\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(d.Environ(), ","); got != "B=3,A=1" {
		t.Fatalf("Environ = %s", got)
	}
}

func FuzzParseDotEnv(f *testing.F) {
	f.Add([]byte("A=1\nB=\"x # y\" # c\nC='q'\r\n# c\n"))
	f.Add([]byte("A=\"open\nB='x'y\n1=2"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := ParseDotEnv("fuzz", data)
		if err != nil {
			return
		}
		for _, k := range d.Keys {
			if !validKey(k, false) {
				t.Fatalf("accepted invalid key %q", k)
			}
			if strings.ContainsAny(d.Values[k], "\n") {
				t.Fatalf("value of %s spans lines: %q", k, d.Values[k])
			}
		}
	})
}

func TestParseDotEnvSkipsIndentedKeys(t *testing.T) {
	d, err := ParseDotEnv("config/.env", []byte("A=1\n  SECRET=x\nB =2\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := d.Get("SECRET"); ok {
		t.Fatal("an indented key was exported")
	}
	if len(d.Environ()) != 1 || len(d.Skipped) != 2 ||
		!strings.HasPrefix(d.Skipped[0], "config/.env:2: ") || !strings.HasPrefix(d.Skipped[1], "config/.env:3: ") {
		t.Fatalf("environ %v, skipped %q", d.Environ(), d.Skipped)
	}
}

func TestParseDotEnvKeepsGoodLinesOnError(t *testing.T) {
	d, err := ParseDotEnv(".env", []byte("A=1\nB=\"open\nC=3\n"))
	if err == nil || d == nil {
		t.Fatalf("d = %v, err = %v: want the good lines and an error", d, err)
	}
	if v, _ := d.Get("C"); v != "3" {
		t.Fatalf("C = %q", v)
	}
}
