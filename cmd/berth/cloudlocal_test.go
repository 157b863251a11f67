package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// standInCloudUV is a STAND-IN uv (not the real one) for the cloud
// component: sync makes .venv; `run ... alembic upgrade head` fails its
// first ALEMBIC_FAILS tries; seed.py and init_storage.py record that they
// ran; anything else (the API services) records its arguments and
// POWERTOOLS_* and waits for its stop signal.
func standInCloudUV(t *testing.T) (pathEnv, record string) {
	t.Helper()
	bin, rec := t.TempDir(), t.TempDir()
	record = filepath.Join(rec, "record")
	script := `#!/bin/sh
rec=` + record + `
case "$1" in
sync) while [ $# -gt 0 ]; do [ "$1" = --project ] && mkdir -p "$2/.venv"; shift; done; exit 0 ;;
esac
case "$*" in
*"alembic upgrade head"*)
	n=$(cat "$rec.alembic" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$rec.alembic"
	if [ "$n" -le "${ALEMBIC_FAILS:-0}" ]; then echo "alembic: try $n: database not ready" >&2; exit 1; fi
	echo "migrated in $PWD VIRTUAL_ENV=${VIRTUAL_ENV-unset}" >> "$rec"; exit 0 ;;
*scripts/seed.py*) echo "seeded" >> "$rec"; exit 0 ;;
*init_storage.py*) echo "storage" >> "$rec"; exit 0 ;;
esac
echo "$* $POWERTOOLS_SERVICE_NAME $POWERTOOLS_METRICS_NAMESPACE" >> "$rec"
exec sleep 100000
`
	if err := os.WriteFile(filepath.Join(bin, "uv"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return "PATH=" + bin + ":" + os.Getenv("PATH"), record
}

// TestCLICloudLocal runs the cloud-local template as the OQTOPUS CLI does:
// the cloud component's own backend/compose.yaml under the environment's
// name, ready when `mysql ... SELECT 1` answers inside db (the stand-in
// database image answers after a delay, so the first tries fail) and the
// host port accepts, then migrations (failing twice, retried), seeding and
// storage initialisation, then the five API services.
func TestCLICloudLocal(t *testing.T) {
	_, tag := testImage(t)
	composeFile := fmt.Sprintf(`services:
  db:
    image: %[1]s
    init: true
    command: ["--tcp", "0.0.0.0:3306", "--ready-after", "1500ms"]
    ports: ["127.0.0.1:${DB_PORT}:3306"]
  minio:
    image: %[1]s
    init: true
  mc:
    image: %[1]s
    init: true
    depends_on: [minio]
`, tag)
	gitEnv := oqtopusRepos(t, map[string]map[string]string{
		"oqtopus-cloud": {"backend/compose.yaml": composeFile, "backend/alembic.ini": "[alembic]\n",
			"backend/scripts/seed.py": "print('seed')\n", "backend/storage/init_storage.py": "print('storage')\n"},
		"oqtopus-frontend": {"package.json": "{}\n"},
		"oqtopus-admin":    {"package.json": "{}\n"},
	})
	pathEnv, record := standInCloudUV(t)
	env := append(gitEnv, pathEnv, "VIRTUAL_ENV=/x/.venv", "ALEMBIC_FAILS=2")
	parent := t.TempDir()
	name := uniqueEnvName("cloud")
	root := filepath.Join(parent, name)
	if r := berth(t, parent, env, "init", "--template", "cloud-local", root); r.code != 0 {
		t.Fatalf("init: %+v", r)
	}
	dbPort, userPort := freePort(t), freePort(t)
	dotenv := fmt.Sprintf("DB_PORT=%d\nUSER_API_PORT=%d\n", dbPort, userPort)
	if err := os.WriteFile(filepath.Join(root, "config", ".env"), []byte(dotenv), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := berth(t, root, env, "install", "all", "--skip-sse-build"); r.code != 2 || !strings.Contains(r.stderr, "nothing to skip") {
		t.Fatalf("install all --skip-sse-build: %+v", r)
	}
	if r := berth(t, root, env, "install", "all"); r.code != 0 {
		t.Fatalf("install all: %+v", r)
	}
	meta, _ := os.ReadFile(filepath.Join(root, ".metadata"))
	for _, k := range []string{"cloud_local_cloud_version=v1.1.0\n", "cloud_local_frontend_version=v1.1.0\n", "cloud_local_admin_version=v1.1.0\n"} {
		if !strings.Contains(string(meta), k) {
			t.Errorf(".metadata lacks the CLI's key %q:\n%s", k, meta)
		}
	}
	t.Cleanup(func() { berth(t, root, env, "stop", "all", "--force", "--timeout", "1s") })

	r := berth(t, root, env, "start", "all")
	if r.code != 0 {
		ps, _ := exec.Command("docker", "ps", "-a", "--filter", "label=com.docker.compose.project="+name, "--format", "{{.Names}} {{.Ports}} {{.Status}}").CombinedOutput()
		t.Fatalf("start all: %+v\ncontainers:\n%s", r, ps)
	}
	if !strings.Contains(r.stderr, "migrations (alembic upgrade head) failed; retrying (1/4) in 2s") {
		t.Errorf("no retry warning on stderr:\n%s", r.stderr)
	}
	st := berth(t, root, env, "status")
	want := regexp.MustCompile(`^db: Running \(\S+[_-]db[_-]1, \S+[_-]minio[_-]1, \S+[_-]mc[_-]1\)\nworker: Running \(PID \d+\)\nuser_signup: Running \(PID \d+\)\nadmin: Running \(PID \d+\)\nprovider: Running \(PID \d+\)\nuser: Running \(PID \d+\)\n$`)
	if !want.MatchString(st.stdout) {
		t.Fatalf("status:\n%s", st.stdout)
	}
	rec, _ := os.ReadFile(record)
	lines := strings.Split(strings.TrimSpace(string(rec)), "\n")
	if len(lines) != 8 || !strings.HasPrefix(lines[0], "migrated in ") || !strings.HasSuffix(lines[0], "/backend VIRTUAL_ENV=unset") ||
		lines[1] != "seeded" || lines[2] != "storage" {
		t.Fatalf("what ran, in order:\n%s", rec)
	}
	wantUser := fmt.Sprintf("uvicorn oqtopus_cloud.user.lambda_function:app --host 0.0.0.0 --port %d --reload --log-level debug user-api user-api", userPort)
	if !strings.Contains(string(rec), wantUser) || !strings.Contains(string(rec), "--port 8888 --reload --log-level debug provider-api provider-api") ||
		!strings.Contains(string(rec), "worker/pending_jobs_updater/local_scheduler.py pending-jobs-updater pending-jobs-updater") {
		t.Errorf("the API services ran as:\n%s", rec)
	}
	dblog, _ := os.ReadFile(filepath.Join(root, "logs", "db", "service.log"))
	for _, w := range []string{"post_start migrations (alembic upgrade head): try 3/5", "alembic: try 2: database not ready", "post_start storage initialisation: done"} {
		if !strings.Contains(string(dblog), w) {
			t.Errorf("logs/db/service.log lacks %q:\n%s", w, dblog)
		}
	}
	if h := berth(t, root, env, "health", "db"); h.code != 0 || !strings.Contains(h.stdout, "db: healthy (command mysql in db: exit code 0") {
		t.Errorf("health db: %+v", h)
	}
	if r := berth(t, root, env, "stop", "all"); r.code != 0 {
		t.Fatalf("stop all: %+v", r)
	}
	if st := berth(t, root, env, "status"); strings.Contains(st.stdout, "Running") {
		t.Fatalf("after stop all:\n%s", st.stdout)
	}
}
