package main

import (
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// A remote service against a real local HTTPS server that wants a bearer
// token: status, health, start, stop, and a dependent that waits for it.
func TestRemoteService(t *testing.T) {
	var up atomic.Bool
	up.Store(true)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer s3cret" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		if !up.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok"))
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the untrusted handshakes are meant
	defer srv.Close()
	endpoint := srv.URL + "/health"
	root := yamlEnvCLI(t, `version: 1
services:
  api:
    runner: remote
    remote: {endpoint: "`+endpoint+`", ca: certs/ca.pem, token_file: secrets/token}
    start_timeout: 1s
  plain:
    runner: remote
    remote: {endpoint: "`+endpoint+`", token_file: secrets/token}
  web:
    command: [TESTSVC]
    depends_on:
      api: {condition: healthy}
`)
	os.MkdirAll(filepath.Join(root, "certs"), 0o755)
	os.MkdirAll(filepath.Join(root, "secrets"), 0o755)
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	os.WriteFile(filepath.Join(root, "certs", "ca.pem"), ca, 0o644)
	os.WriteFile(filepath.Join(root, "secrets", "token"), []byte("s3cret\n"), 0o600)

	out, code := berthEnv(t, root, "status", "api", "plain")
	if code != 0 || !strings.Contains(out, "api: Running (remote "+endpoint+")") {
		t.Fatalf("status: %d\n%s", code, out)
	}
	// Without the CA the certificate is not trusted: stopped, with why.
	if !strings.Contains(out, "plain: Stopped") {
		t.Errorf("status of plain without the CA: %s", out)
	}
	if out, code := berthEnv(t, root, "health", "api", "plain"); code == 0 || !strings.Contains(out, "api: healthy (remote "+endpoint) || !strings.Contains(out, "certificate") {
		t.Errorf("health: %d\n%s", code, out)
	}
	// -o json of both is what the documented schema says.
	schema := newOutputSchema(t)
	out, _ = berthOut(t, root, "--env", root, "status", "api", "-o", "json")
	schema.check("status", "status", out)
	if !strings.Contains(out, `"endpoint": "`+endpoint+`"`) {
		t.Errorf("status -o json of api names no endpoint: %s", out)
	}
	out, _ = berthOut(t, root, "--env", root, "stop", "api", "-o", "json")
	schema.check("stop", "stop", out)
	if !strings.Contains(out, `"unmanaged": true`) {
		t.Errorf("stop -o json of api: %s", out)
	}
	if out, code := berthEnv(t, root, "start", "api"); code != 0 || !strings.Contains(out, "nothing to do") {
		t.Errorf("start api: %d\n%s", code, out)
	}
	if out, code := berthEnv(t, root, "stop", "api"); code != 0 || !strings.Contains(out, "api: remote, berth does not stop it: nothing to do") {
		t.Errorf("stop api: %d\n%s", code, out)
	}
	// The dependent waits for the remote check; it fails while the
	// endpoint answers 503, and starts once it answers.
	up.Store(false)
	began := time.Now()
	if out, code := berthEnv(t, root, "start", "web"); code == 0 || !strings.Contains(out, "http 503") {
		t.Errorf("start web while api answers 503: %d\n%s", code, out)
	}
	if took := time.Since(began); took > 15*time.Second {
		t.Errorf("the wait for api took %v; api's start_timeout is 1s", took)
	}
	if out, _ := berthEnv(t, root, "status", "web"); !strings.Contains(out, "web: Stopped") {
		t.Errorf("web started before api answered: %s", out)
	}
	up.Store(true)
	if out, code := berthEnv(t, root, "start", "web"); code != 0 {
		t.Errorf("start web while api answers: %d\n%s", code, out)
	}
	if out, _ := berthEnv(t, root, "status", "web"); !strings.Contains(out, "web: Running") {
		t.Errorf("web after start: %s", out)
	}
}
