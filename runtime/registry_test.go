package runtime

import (
	"errors"
	"testing"
)

// TestRegistryClose: Close (and a Manager's Close) runs every OnClose
// function and reports their errors.
func TestRegistryClose(t *testing.T) {
	reg := NewRegistry()
	var ran []string
	reg.OnClose(func() error { ran = append(ran, "clients"); return nil })
	reg.OnClose(func() error { ran = append(ran, "other"); return errors.New("boom") })
	m := &Manager{Runners: reg}
	if err := m.Close(); err == nil || err.Error() != "boom" {
		t.Errorf("Close: got %v, want boom", err)
	}
	if len(ran) != 2 || ran[0] != "clients" || ran[1] != "other" {
		t.Errorf("ran %v, want clients then other", ran)
	}
	if err := (&Manager{}).Close(); err != nil {
		t.Errorf("Close of a manager without runners: %v", err)
	}
}
