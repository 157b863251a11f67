package main

import (
	"strings"
	"testing"
)

func TestComposeAliasesAndDidYouMean(t *testing.T) {
	root := lifecycleEnv(t, [2]string{"core", ""}, [2]string{"gateway", ""})
	// start and stop without names stay usage errors.
	for _, cmd := range []string{"start", "stop", "restart"} {
		if out, code := berthEnv(t, root, cmd); code != 2 || !strings.Contains(out, "requires at least 1 arg") {
			t.Errorf("%s without names: %d %s", cmd, code, out)
		}
	}
	if out, code := berthEnv(t, root, "up", "core"); code != 0 || !strings.Contains(out, "core") {
		t.Fatalf("up core: %d %s", code, out)
	}
	// up again is no error (compose's up), and without names starts the rest.
	if out, code := berthEnv(t, root, "up", "core"); code != 0 {
		t.Fatalf("up core twice: %d %s", code, out)
	}
	if out, code := berthEnv(t, root, "up"); code != 0 {
		t.Fatalf("up: %d %s", code, out)
	}
	status := checkAgree(t, root)
	if strings.Count(status, ": Running (PID ") != 2 {
		t.Fatalf("after up:\n%s", status)
	}
	if ps, code := berthEnv(t, root, "ps"); code != 0 || ps != status {
		t.Fatalf("ps = %d %q, status %q", code, ps, status)
	}
	// start of a running service is still refused by name.
	if out, code := berthEnv(t, root, "start", "core"); code != 1 || !strings.Contains(out, "core") {
		t.Fatalf("start of a running service: %d %s", code, out)
	}
	for _, args := range [][]string{{"start", "gatway"}, {"stop", "gatewya"}, {"logs", "gateway_"}, {"deps", "gatewa"}, {"down", "gtaeway"}} {
		out, code := berthEnv(t, root, args...)
		if code != 1 || !strings.Contains(out, `did you mean "gateway"?`) {
			t.Errorf("%v: %d %s", args, code, out)
		}
	}
	if out, code := berthEnv(t, root, "down"); code != 0 {
		t.Fatalf("down: %d %s", code, out)
	}
	if out := checkAgree(t, root); out != "core: Stopped\ngateway: Stopped\n" {
		t.Fatalf("after down:\n%s", out)
	}
}
