package metadata

import "testing"

func TestNearest(t *testing.T) {
	services := []string{"web", "api", "gateway", "db", "core"}
	for _, tt := range []struct{ in, want string }{
		{"wbe", "web"},        // swapped letters
		{"webb", "web"},       // one too many
		{"gatway", "gateway"}, // one missing
		{"gate", "gateway"},   // a prefix
		{"cor", "core"},
		{"x", ""},     // too short to guess
		{"zzzz", ""},  // nothing near
		{"dbx", "db"}, // one extra letter on a short name
		{"ab", ""},    // two edits from db and api: half the name
	} {
		if got := Nearest(tt.in, services); got != tt.want {
			t.Errorf("Nearest(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestUnknownServiceError(t *testing.T) {
	m := &Manifest{ServiceOrder: []string{"api", "web"}}
	if got, want := m.UnknownService("wbe").Error(), `unknown service "wbe": did you mean "web"? (services: api, web)`; got != want {
		t.Fatalf("%s, want %s", got, want)
	}
	if got, want := m.UnknownService("zzz").Error(), `unknown service "zzz" (services: api, web)`; got != want {
		t.Fatalf("%s, want %s", got, want)
	}
}
