package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/berthdev/berth/hack/testkit"
	"github.com/berthdev/berth/images/engine"
	"github.com/berthdev/berth/images/imagetest"
)

var (
	imgOnce sync.Once
	imgCli  *engine.Client
	imgErr  error
	imgTag  string
)

// testImage is hack/testsvc in an image FROM scratch, built once per test
// binary; the test is skipped when there is no daemon.
func testImage(t *testing.T) (*engine.Client, string) {
	imgOnce.Do(func() {
		imgCli, imgErr = imagetest.Connect()
		if imgErr != nil {
			return
		}
		imgTag = fmt.Sprintf("berth-cli-testsvc-%d:latest", os.Getpid())
		dir, err := os.MkdirTemp("", "berth-cli-img")
		if err != nil {
			imgErr = err
			return
		}
		defer os.RemoveAll(dir)
		if _, err := imagetest.BuildTestsvc(context.Background(), imgCli, imgTag, dir); err != nil {
			imgCli, imgErr = nil, err
		}
	})
	c := imagetest.Require(t, imgCli, imgErr)
	return c, imgTag
}

// removeTestImage removes the image testImage built, if any.
func removeTestImage() {
	if imgCli != nil {
		imagetest.Remove(imgCli, imgTag)
	}
}

func uniqueEnvName(prefix string) string {
	return fmt.Sprintf("%s%d-%d", prefix, os.Getpid(), time.Now().UnixNano()%1e9)
}

// tlsProxy serves the machine's Docker socket over TLS on 127.0.0.1 with
// client certificates, as a remote daemon would, and writes the CA and the
// client's certificate and key into dir.
func tlsProxy(t *testing.T, dir string) string {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "berth test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	issue := func(serial int64, server bool) ([]byte, *ecdsa.PrivateKey) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "berth test"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
		if server {
			tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
			tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
		} else {
			tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return der, key
	}
	srvDER, srvKey := issue(2, true)
	cliDER, cliKey := issue(3, false)
	writePEM := func(name, typ string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	keyDER, _ := x509.MarshalECPrivateKey(cliKey)
	writePEM("ca.pem", "CERTIFICATE", caDER)
	writePEM("cert.pem", "CERTIFICATE", cliDER)
	writePEM("key.pem", "EC PRIVATE KEY", keyDER)

	pool := x509.NewCertPool()
	pool.AddCert(ca)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{srvDER}, PrivateKey: srvKey}},
		ClientAuth:   tls.RequireAndVerifyClientCert, ClientCAs: pool,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				d, err := net.Dial("unix", engine.DefaultSocket)
				if err != nil {
					return
				}
				defer d.Close()
				go io.Copy(d, c)
				io.Copy(c, d)
			}()
		}
	}()
	return "tcp://" + ln.Addr().String()
}

func TestCLIContainersOnHosts(t *testing.T) {
	if _, err := os.Stat(engine.DefaultSocket); err != nil {
		t.Skip("skipping: the TLS proxy forwards to " + engine.DefaultSocket + ", which is absent")
	}
	_, tag := testImage(t)
	root := t.TempDir()
	endpoint := tlsProxy(t, root)
	name := uniqueEnvName("bcli")
	manifest := fmt.Sprintf(`version: 1
hosts:
  remote:
    endpoint: %s
    tls: {ca: ca.pem, cert: cert.pem, key: key.pem}
services:
  web:
    runner: container
    container: {image: %s}
  far:
    runner: container
    host: remote
    command: [--print, far]
    container: {image: %s}
  proc:
    command: [%q]
`, endpoint, tag, tag, testsvcBin)
	os.WriteFile(filepath.Join(root, "berth.yaml"), []byte(manifest), 0o644)
	os.WriteFile(filepath.Join(root, ".metadata"), []byte("template=test\nenvironment_name="+name+"\nenvironment_root="+root+"\n"), 0o644)
	stopAllAtCleanup(t, root)

	if out, code := berthEnv(t, root, "start", "all"); code != 0 {
		t.Fatalf("start all: %d\n%s", code, out)
	}
	out, code := berthEnv(t, root, "status")
	want := regexp.MustCompile(`^web: Running \(container [0-9a-f]{12}\)\nfar: Running \(container [0-9a-f]{12} on remote\)\nproc: Running \(PID \d+\)\n$`)
	if code != 0 || !want.MatchString(out) {
		t.Fatalf("status: %d\n%s", code, out)
	}
	out, _ = berthEnv(t, root, "status", "-o", "json")
	var states []map[string]any
	if err := json.Unmarshal([]byte(out), &states); err != nil || len(states) != 3 {
		t.Fatalf("status json: %v\n%s", err, out)
	}
	if states[1]["host"] != "remote" || states[1]["state"] != "running" || states[1]["container_id"] == nil || states[0]["host"] != nil {
		t.Errorf("status json: %v", states)
	}
	// Logs of a container on the TLS host come from its daemon.
	testkit.Eventually(t, 10*time.Second, func() error {
		if out, code := berthEnv(t, root, "logs", "--tail", "5", "far"); code != 0 || !strings.Contains(out, "far\n") {
			return fmt.Errorf("logs far: exit %d, want far in\n%s", code, out)
		}
		return nil
	})
	for _, tc := range []struct {
		args []string
		want string
		code int
	}{
		{[]string{"status", "--host", "remote"}, "far: Running (container", 0},
		{[]string{"status", "--host", "nosuch"}, `unknown host "nosuch"`, 1},
		{[]string{"stop", "--host", "remote", "web"}, "not placed on host remote", 1},
	} {
		out, code := berthEnv(t, root, tc.args...)
		if code != tc.code || !strings.Contains(out, tc.want) || strings.Contains(out, "proc:") {
			t.Errorf("berth %v: %d\n%s\nwant %d and %q", tc.args, code, out, tc.code, tc.want)
		}
	}
	if out, code := berthEnv(t, root, "stop", "--host", "remote", "all"); code != 0 || out != "far: Stopped\n" {
		t.Fatalf("stop --host remote all: %d\n%s", code, out)
	}
	out, _ = berthEnv(t, root, "status")
	if !strings.Contains(out, "far: Stopped") || !strings.Contains(out, "web: Running") {
		t.Fatalf("after stopping the remote host's services: %s", out)
	}
	if out, code := berthEnv(t, root, "stop", "all"); code != 0 {
		t.Fatalf("stop all: %d\n%s", code, out)
	}
	out, _ = berthEnv(t, root, "status")
	if out != "web: Stopped\nfar: Stopped\nproc: Stopped\n" {
		t.Fatalf("status after stop all:\n%s", out)
	}
}

func TestCLIContainerForegroundAndMissingImage(t *testing.T) {
	_, tag := testImage(t)
	root := t.TempDir()
	// The failed detached start spawns a supervisor, which would write the
	// engine's state under root while the test's directory is removed.
	t.Cleanup(func() {
		if pid := supervisorPID(root); pid > 0 {
			syscall.Kill(pid, syscall.SIGTERM)
		}
		waitSupervisorGone(t, root)
	})
	name := uniqueEnvName("bfg")
	manifest := fmt.Sprintf(`version: 1
images:
  rt:
    component: eng
    context: ctx
    tag: berth-never-built-%s:v1
components:
  eng:
    repo: /nonexistent.git
services:
  once:
    runner: container
    command: [--print, hello-from-container, --exit, "7"]
    container: {image: %s}
  absent:
    runner: container
    container: {image: berth-absent-%s:v1, pull: never}
`, name, tag, name)
	os.WriteFile(filepath.Join(root, "berth.yaml"), []byte(manifest), 0o644)
	os.WriteFile(filepath.Join(root, ".metadata"), []byte("template=test\nenvironment_name="+name+"\nenvironment_root="+root+"\n"), 0o644)
	out, code := berthEnv(t, root, "start", "--foreground", "once")
	if code != 7 || !strings.Contains(out, "hello-from-container") {
		t.Fatalf("start --foreground: exit %d, want 7\n%s", code, out)
	}
	out, code = berthEnv(t, root, "start", "absent")
	if code != 1 || !strings.Contains(out, "berth-absent-"+name+":v1 is not on the Docker daemon") || !strings.Contains(out, "container.pull is never: load it") {
		t.Fatalf("start of a missing image: %d\n%s", code, out)
	}
}
