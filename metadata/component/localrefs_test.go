package component

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestLocalTagsAgreeWithLsRemote holds localTags to git ls-remote on real
// repositories: where it answers, its answer is ls-remote's; where it cannot
// be sure, it says so and Tags asks git.
func TestLocalTagsAgreeWithLsRemote(t *testing.T) {
	cases := []struct {
		name string
		// make returns the path to list, starting from a repository with
		// annotated tags v1.0.0, v1.1.0, v2.0.0-rc.1 (loose refs, loose objects).
		make func(t *testing.T, r *testRepo) string
		fast bool // localTags answers (else it must defer to git)
	}{
		{"loose refs, loose objects", func(t *testing.T, r *testRepo) string { return r.Bare }, true},
		{"packed refs and packed objects after gc", func(t *testing.T, r *testRepo) string {
			git(t, r.Bare, "gc", "-q")
			mustNotExist(t, filepath.Join(r.Bare, "refs/tags/v1.0.0"))
			return r.Bare
		}, true},
		{"packed and loose, a loose one overriding a packed one", func(t *testing.T, r *testRepo) string {
			git(t, r.Bare, "pack-refs", "--all")
			r.commit(t, "VERSION", "later")
			git(t, r.Work, "tag", "-f", "v1.0.0")
			git(t, r.Work, "tag", "v3.0.0")
			git(t, r.Work, "push", "-q", "-f", r.Bare, "main", "v1.0.0", "v3.0.0")
			return r.Bare
		}, true},
		{"tags deleted, packed and loose", func(t *testing.T, r *testRepo) string {
			git(t, r.Bare, "pack-refs", "--all")
			git(t, r.Work, "tag", "v4.0.0")
			git(t, r.Work, "push", "-q", r.Bare, "v4.0.0")
			git(t, r.Bare, "tag", "-d", "v1.1.0", "v4.0.0")
			return r.Bare
		}, true},
		{"nested names, lightweight tags, build metadata", func(t *testing.T, r *testRepo) string {
			for _, tag := range []string{"release/v5.0.0", "a/b/c", "v5.0.0+build.7", "v5.0.0_x", "UPPER"} {
				git(t, r.Work, "tag", tag)
			}
			git(t, r.Work, "push", "-q", "--tags", r.Bare)
			git(t, r.Bare, "pack-refs", "--all")
			git(t, r.Work, "tag", "release/v6.0.0")
			git(t, r.Work, "push", "-q", r.Bare, "release/v6.0.0")
			return r.Bare
		}, true},
		{"no tags at all", func(t *testing.T, r *testRepo) string {
			git(t, r.Bare, "tag", "-d", "v1.0.0", "v1.1.0", "v2.0.0-rc.1")
			return r.Bare
		}, true},
		{"a work tree's repository, given by its directory", func(t *testing.T, r *testRepo) string { return r.Work }, true},
		{"a relative path", func(t *testing.T, r *testRepo) string {
			wd, _ := os.Getwd()
			rel, err := filepath.Rel(wd, r.Bare)
			if err != nil {
				t.Skip(err)
			}
			return rel
		}, true},
		{"a symbolic ref among the tags", func(t *testing.T, r *testRepo) string {
			git(t, r.Bare, "symbolic-ref", "refs/tags/v9.9.9", "refs/heads/main")
			return r.Bare
		}, false},
		{"a tag naming a missing object", func(t *testing.T, r *testRepo) string {
			writeFile(t, filepath.Join(r.Bare, "refs/tags/v7.0.0"), strings.Repeat("ab", 20)+"\n")
			return r.Bare
		}, false},
		{"a packed tag naming a missing object", func(t *testing.T, r *testRepo) string {
			git(t, r.Bare, "pack-refs", "--all")
			b, _ := os.ReadFile(filepath.Join(r.Bare, "packed-refs"))
			writeFile(t, filepath.Join(r.Bare, "packed-refs"), string(b)+strings.Repeat("cd", 20)+" refs/tags/v7.1.0\n")
			return r.Bare
		}, false},
		{"a lock file being written", func(t *testing.T, r *testRepo) string {
			writeFile(t, filepath.Join(r.Bare, "refs/tags/v8.0.0.lock"), "")
			return r.Bare
		}, false},
		{"hideRefs in the repository's config", func(t *testing.T, r *testRepo) string {
			git(t, r.Bare, "config", "uploadpack.hideRefs", "refs/tags/v1")
			return r.Bare
		}, false},
		{"transfer.hideRefs in the user's config", func(t *testing.T, r *testRepo) string {
			cfg := filepath.Join(t.TempDir(), "gitconfig")
			writeFile(t, cfg, "[transfer]\n\thideRefs = refs/tags/v2\n")
			t.Setenv("GIT_CONFIG_GLOBAL", cfg)
			return r.Bare
		}, false},
		{"url.insteadOf in the user's config, sending the path to another repository", func(t *testing.T, r *testRepo) string {
			other := newRepo(t, "v9.0.0")
			cfg := filepath.Join(t.TempDir(), "gitconfig")
			writeFile(t, cfg, "[url \""+other.Bare+"\"]\n\tinsteadOf = "+r.Bare+"\n")
			t.Setenv("GIT_CONFIG_GLOBAL", cfg)
			return r.Bare
		}, false},
		{"a gitfile", func(t *testing.T, r *testRepo) string {
			dir := filepath.Join(t.TempDir(), "sep")
			git(t, filepath.Dir(dir), "clone", "-q", "--separate-git-dir", dir+".git", r.Bare, dir)
			return dir
		}, false},
		{"alternates", func(t *testing.T, r *testRepo) string {
			dir := filepath.Join(t.TempDir(), "shared.git")
			git(t, filepath.Dir(dir), "clone", "-q", "--bare", "--shared", r.Bare, dir)
			return dir
		}, false},
		{"a bundle", func(t *testing.T, r *testRepo) string {
			b := filepath.Join(t.TempDir(), "repo.bundle")
			git(t, r.Work, "bundle", "create", b, "--all")
			return b
		}, false},
		{"a file:// URL", func(t *testing.T, r *testRepo) string { return "file://" + r.Bare }, false},
		{"url.insteadOf in the config of the repository berth runs in", func(t *testing.T, r *testRepo) string {
			other := newRepo(t, "v9.0.0")
			cwd := filepath.Join(t.TempDir(), "work")
			git(t, filepath.Dir(cwd), "init", "-q", cwd)
			git(t, cwd, "config", "url."+other.Bare+".insteadOf", r.Bare)
			sub := filepath.Join(cwd, "deep")
			os.Mkdir(sub, 0o755)
			t.Chdir(sub)
			return r.Bare
		}, false},
		{"an empty packed-refs", func(t *testing.T, r *testRepo) string {
			writeFile(t, filepath.Join(r.Bare, "packed-refs"), "")
			return r.Bare
		}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRepo(t, "v1.0.0", "v1.1.0", "v2.0.0-rc.1")
			path := tc.make(t, r)
			want, err := Git{}.lsRemoteTags(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("ls-remote: %q", want)
			got, ok := localTags(path)
			if ok != tc.fast {
				t.Fatalf("localTags answered: %v, want %v (got %q, ls-remote %q)", ok, tc.fast, got, want)
			}
			if ok && !slices.Equal(got, want) {
				t.Fatalf("localTags = %q, ls-remote = %q", got, want)
			}
			if all, err := (Git{}).Tags(context.Background(), path); err != nil || !slices.Equal(all, want) {
				t.Fatalf("Tags = %q, %v; ls-remote = %q", all, err, want)
			}
		})
	}
}

// A packed-refs file that is empty, or whose first or a middle line is
// blank, is read without a panic: empty is no tags, a blank line is left
// to git.
func TestReadPackedTagsBlankLines(t *testing.T) {
	id := strings.Repeat("ab", 20)
	for _, c := range []struct {
		content string
		ok      bool
		tags    int
	}{
		{"", true, 0},
		{"\n", false, 0},
		{"\n" + id + " refs/tags/v1.0.0\n", false, 0},
		{id + " refs/tags/v1.0.0\n\n" + id + " refs/tags/v2.0.0\n", false, 0},
		{id + " refs/tags/v1.0.0\n" + id + " refs/tags/v2.0.0\n", true, 2},
	} {
		p := filepath.Join(t.TempDir(), "packed-refs")
		writeFile(t, p, c.content)
		refs := map[string][]byte{}
		if ok := readPackedTags(p, refs); ok != c.ok || (ok && len(refs) != c.tags) {
			t.Errorf("%q: ok %v with %d tags, want %v with %d", c.content, ok, len(refs), c.ok, c.tags)
		}
	}
}

// TestLocalTagsMissingRepository: an address that is no repository is
// left to git, which names the problem.
func TestLocalTagsMissingRepository(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{filepath.Join(dir, "nothing"), dir, "host:path/repo.git", "-x"} {
		if tags, ok := localTags(p); ok {
			t.Errorf("localTags(%q) = %q, answered", p, tags)
		}
	}
	if _, err := (Git{}).Tags(context.Background(), filepath.Join(dir, "nothing")); err == nil {
		t.Error("Tags of a missing repository: no error")
	}
}

func mustNotExist(t *testing.T, p string) {
	t.Helper()
	if _, err := os.Stat(p); err == nil {
		t.Fatalf("%s exists", p)
	}
}

func writeFile(t *testing.T, p, content string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
