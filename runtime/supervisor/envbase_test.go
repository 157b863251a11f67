package supervisor

import (
	"encoding/json"
	"os"
	"slices"
	"testing"
)

// A session's starts carry the command's environment once; each service's
// environment comes out of the supervisor exactly as the command made it,
// whether it keeps the command's variables, sets one of them over (in its
// place), or shares nothing with them.
func TestEnvironmentSentOncePerSession(t *testing.T) {
	base := os.Environ()
	if len(base) < 2 {
		t.Skip("the test needs an environment of two variables or more")
	}
	over := slices.Clone(base)
	over[1] = "OVERRIDDEN=1"
	envs := [][]string{
		{"ONLY=own"},
		append(slices.Clone(base), "API_PORT=8080"),
		over,
		slices.Clone(base),
	}
	var client envBase
	var server session
	sentBase := 0
	for i, env := range envs {
		req := Request{Op: opStart, Spec: &Spec{Name: "s", Env: env}}
		client.trim(&req)
		if req.EnvBase != nil {
			sentBase++
		}
		b, _ := json.Marshal(req)
		var got Request
		json.Unmarshal(b, &got)
		if !server.rebuildEnv(&got) {
			t.Fatalf("start %d: no base to rebuild from", i)
		}
		if !slices.Equal(got.Spec.Env, env) {
			t.Errorf("start %d: environment %q, want %q", i, got.Spec.Env, env)
		}
		if i == 3 && (len(req.Spec.Env) != 0 || req.Spec.EnvFrom != len(base)) {
			t.Errorf("a start sharing the whole base sent %d variables (from %d)", len(req.Spec.Env), req.Spec.EnvFrom)
		}
	}
	if sentBase != 1 {
		t.Errorf("the base went out %d times, want once", sentBase)
	}
	if !slices.Equal(envs[1][:len(base)], base) {
		t.Error("a start changed the environment it was given")
	}
	var fresh session
	if fresh.rebuildEnv(&Request{Op: opStart, Spec: &Spec{EnvFrom: 2}}) {
		t.Error("a start counting on a base its session never had was taken")
	}
}
