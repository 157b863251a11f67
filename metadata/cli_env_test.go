package metadata

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// cliEnv lays out an environment as the OQTOPUS CLI's init leaves it: its
// .metadata, its config files and directories, and no berth.yaml.
func cliEnv(t *testing.T, template string, legacy bool) (root, metadataText string) {
	t.Helper()
	root = filepath.Join(t.TempDir(), "lab")
	for _, d := range []string{"pids", "logs", "config"} {
		os.MkdirAll(filepath.Join(root, d), 0o755)
	}
	rootKey, nameKey := KeyEnvironmentRoot, KeyEnvironmentName
	if legacy {
		rootKey, nameKey = "env_root", "env_name"
	}
	metadataText = "template=" + template + "\ninstall_root=" + filepath.Join(t.TempDir(), "releases") +
		"\n" + nameKey + "=lab\n" + rootKey + "=" + root + "\ncreated_at=2026-08-19T10:00:00Z\n"
	if err := os.WriteFile(filepath.Join(root, MetadataFile), []byte(metadataText), 0o644); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(root, "config", ".env"), []byte("SSE_CONTAINER_IMAGE=lab-sse_runtime:latest\n"), 0o644)
	return root, metadataText
}

func TestCLIEnvironmentsOpenWithTheirTemplate(t *testing.T) {
	tests := []struct {
		template, services string
		legacy             bool
	}{
		{"backend", "core,sse_engine,mitigator,estimator,combiner,tranqu,gateway", false},
		{"cloud-local", "db,worker,user_signup,admin,provider,user", false},
		{"manager", "manager", false},
		{"backend", "core,sse_engine,mitigator,estimator,combiner,tranqu,gateway", true},
	}
	for _, tt := range tests {
		t.Run(tt.template, func(t *testing.T) {
			root, text := cliEnv(t, tt.template, tt.legacy)
			env, err := Open(root)
			if err != nil {
				t.Fatal(err)
			}
			if !env.FromTemplate || strings.Join(env.Manifest.ServiceOrder, ",") != tt.services || env.Name() != "lab" {
				t.Fatalf("from template %v, services %v, name %s", env.FromTemplate, env.Manifest.ServiceOrder, env.Name())
			}
			if tt.template == "cloud-local" {
				env.UpdateMetadata(func(m *Metadata) error { m.Set("cloud_local_cloud_version", "v1.2.3"); return nil })
				text += "cloud_local_cloud_version=v1.2.3\n"
				if b, err := env.Binding("cloud"); err != nil || b.Version != "v1.2.3" {
					t.Errorf("the CLI's cloud binding: %+v, %v", b, err)
				}
			}
			// init --force writes the manifest and keeps the CLI's .metadata byte for byte.
			res, err := Init(InitOptions{Dir: root, Template: tt.template, Force: true})
			if err != nil {
				t.Fatal(err)
			}
			if !res.Existing || res.Name != "lab" {
				t.Errorf("result %+v", res)
			}
			if data, _ := os.ReadFile(filepath.Join(root, MetadataFile)); string(data) != text {
				t.Errorf(".metadata changed:\n%s", data)
			}
			if data, _ := os.ReadFile(filepath.Join(root, "config", ".env")); !strings.HasPrefix(string(data), "SSE_CONTAINER_IMAGE=lab-") {
				t.Errorf("config/.env replaced: %s", data)
			}
			env, err = Open(root)
			if err != nil || env.FromTemplate {
				t.Fatalf("after init --force: from template %v, %v", env != nil && env.FromTemplate, err)
			}
		})
	}
	t.Run("unknown template", func(t *testing.T) {
		root, _ := cliEnv(t, "weird", false)
		if _, err := Open(root); err == nil || !strings.Contains(err.Error(), `template "weird"`) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestInitFromTemplateDirectory(t *testing.T) {
	t.Run("the CLI's template, without berth.yaml", func(t *testing.T) {
		tpl := filepath.Join(t.TempDir(), "templates", "backend")
		os.MkdirAll(filepath.Join(tpl, "config", "gateway"), 0o755)
		os.WriteFile(filepath.Join(tpl, "config", ".env"), []byte("SSE_CONTAINER_IMAGE={{ env_name }}-sse_runtime:latest\n"), 0o644)
		os.WriteFile(filepath.Join(tpl, "config", "gateway", "device_status"), []byte("maintenance\n"), 0o644)
		root := filepath.Join(t.TempDir(), "lab")
		res, err := Init(InitOptions{Dir: root, TemplateDir: tpl, InstallRoot: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		env, err := Open(root)
		if err != nil {
			t.Fatal(err)
		}
		if tmpl, _ := env.Meta.Get(KeyTemplate); tmpl != "backend" || res.Template != "backend" || env.FromTemplate {
			t.Errorf("template %q, from template %v", tmpl, env.FromTemplate)
		}
		if v, _ := env.DotEnv.Get("SSE_CONTAINER_IMAGE"); v != "lab-sse_runtime:latest" {
			t.Errorf("SSE_CONTAINER_IMAGE = %q", v)
		}
		if data, _ := os.ReadFile(env.Path("config", "gateway", "device_status")); string(data) != "maintenance\n" {
			t.Errorf("device_status = %q", data)
		}
		if len(env.Manifest.ServiceOrder) != 7 {
			t.Errorf("services %v", env.Manifest.ServiceOrder)
		}
	})
	t.Run("a team's template with its own manifest", func(t *testing.T) {
		tpl := filepath.Join(t.TempDir(), "mine")
		os.MkdirAll(tpl, 0o755)
		os.WriteFile(filepath.Join(tpl, ManifestFile), []byte("version: 1\ndescription: {{.Name}} of {{.Template}}\nservices:\n  web: {command: [web]}\n"), 0o644)
		os.WriteFile(filepath.Join(tpl, dirsFile), []byte("data\n"), 0o644)
		root := filepath.Join(t.TempDir(), "lab")
		if _, err := Init(InitOptions{Dir: root, TemplateDir: tpl, InstallRoot: t.TempDir()}); err != nil {
			t.Fatal(err)
		}
		env, err := Open(root)
		if err != nil {
			t.Fatal(err)
		}
		if env.Manifest.Description != "lab of mine" {
			t.Errorf("description %q", env.Manifest.Description)
		}
		for _, d := range []string{"data", "logs/web", "pids"} {
			if _, err := os.Stat(env.Path(d)); err != nil {
				t.Errorf("%s missing", d)
			}
		}
		if _, err := os.Stat(env.Path(dirsFile)); err == nil {
			t.Errorf("%s copied", dirsFile)
		}
	})
	t.Run("no manifest and no embedded one", func(t *testing.T) {
		tpl := filepath.Join(t.TempDir(), "other")
		os.MkdirAll(tpl, 0o755)
		root := filepath.Join(t.TempDir(), "lab")
		_, err := Init(InitOptions{Dir: root, TemplateDir: tpl})
		if err == nil || !strings.Contains(err.Error(), "has no berth.yaml") {
			t.Fatalf("err = %v", err)
		}
		if _, err := os.Stat(root); !os.IsNotExist(err) {
			t.Error("refused init made the directory")
		}
	})
}
