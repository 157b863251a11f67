package logs

import (
	"bytes"
	"io"
	"os"
	"testing"

	"github.com/creack/pty"
)

func TestPrinter(t *testing.T) {
	tests := []struct {
		name  string
		names []string
		color bool
		lines []Line
		want  string
	}{
		{"one service has no prefix", []string{"core"}, true,
			[]Line{{Source: "core", Text: "up"}}, "up\n"},
		{"prefix padded to the longest name", []string{"core", "gateway"}, false,
			[]Line{{Source: "core", Text: "a"}, {Source: "gateway", Text: "b"}, {Source: "core", Text: ""}},
			"core    | a\ngateway | b\ncore    | \n"},
		{"coloured prefixes", []string{"db", "web"}, true,
			[]Line{{Source: "db", Text: "a"}, {Source: "web", Text: "b"}},
			"\x1b[36mdb  | \x1b[0ma\n\x1b[33mweb | \x1b[0mb\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			p := NewPrinter(&b, tt.names, tt.color)
			for _, l := range tt.lines {
				if err := p.Print(l); err != nil {
					t.Fatal(err)
				}
			}
			if b.String() != tt.want {
				t.Errorf("got %q, want %q", b.String(), tt.want)
			}
		})
	}
}

func TestColorEnabled(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	file, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	tests := []struct {
		name    string
		w       io.Writer
		noColor string
		want    bool
	}{
		{"terminal", tty, "", true},
		{"terminal with NO_COLOR", tty, "1", false},
		{"file", file, "", false},
		{"buffer", &bytes.Buffer{}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("NO_COLOR", tt.noColor)
			if got := ColorEnabled(tt.w); got != tt.want {
				t.Errorf("ColorEnabled = %v, want %v", got, tt.want)
			}
		})
	}
}
