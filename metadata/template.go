package metadata

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// templateSource is where init takes a template's files from: the embedded
// templates, or a directory (a team's own, or one fetched from a git
// repository at a branch).
type templateSource struct {
	// kind is the template's name, what .metadata records as template=.
	kind string
	fsys fs.FS
	// fallbackManifest is the embedded berth.yaml of kind, for a template
	// directory without one (the OQTOPUS CLI's templates have none).
	fallbackManifest []byte
	where            string
}

func openTemplate(name, dir string) (*templateSource, error) {
	if dir == "" {
		if name == "" {
			return nil, fmt.Errorf("no template given: use --template with one of %s, or a template directory", strings.Join(Templates(), ", "))
		}
		sub, err := fs.Sub(templatesFS, "templates/"+name)
		if _, serr := fs.Stat(templatesFS, "templates/"+name); err != nil || serr != nil {
			return nil, fmt.Errorf("unknown template %q: use one of %s, or a template directory", name, strings.Join(Templates(), ", "))
		}
		return &templateSource{kind: name, fsys: sub, where: name}, nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("template directory %s does not exist or is not a directory", abs)
	}
	if name == "" {
		name = filepath.Base(abs)
	}
	if !ValidName(name) {
		return nil, fmt.Errorf("template directory %s: its name %q is not a valid template name (lower-case letters, digits, '_', '.' and '-')", abs, name)
	}
	src := &templateSource{kind: name, fsys: os.DirFS(abs), where: abs}
	if _, err := os.Stat(filepath.Join(abs, ManifestFile)); err != nil {
		raw, ferr := templatesFS.ReadFile("templates/" + name + "/" + ManifestFile)
		if ferr != nil {
			return nil, fmt.Errorf("template directory %s has no %s, and %q is not one of berth's templates (%s) whose manifest it could use: add a %s to it",
				abs, ManifestFile, name, strings.Join(Templates(), ", "), ManifestFile)
		}
		src.fallbackManifest = raw
	}
	return src, nil
}

// copyInto writes the template's files under root (never replacing one),
// makes the directories its _dirs.txt lists, and returns the rendered manifest.
func (src *templateSource) copyInto(root string, data templateData, mkdir func(string) error, res *InitResult) ([]byte, error) {
	var manifestText []byte
	write := func(rel string, raw []byte) error {
		text, err := render(rel, raw, data)
		if err != nil {
			return fmt.Errorf("template %s: %w", src.where, err)
		}
		if rel == ManifestFile {
			manifestText = text
		}
		target := filepath.Join(root, filepath.FromSlash(rel))
		if err := mkdir(filepath.Dir(target)); err != nil {
			return err
		}
		created, err := writeNew(target, text)
		if err != nil {
			return err
		}
		if created {
			res.Created = append(res.Created, rel)
		} else {
			res.Kept = append(res.Kept, rel)
		}
		return nil
	}
	err := fs.WalkDir(src.fsys, ".", func(p string, d fs.DirEntry, werr error) error {
		if werr != nil {
			return werr
		}
		if d.IsDir() {
			if d.Name() == ".git" {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || p == MetadataFile {
			return nil // links and another environment's .metadata are not part of a template
		}
		raw, err := fs.ReadFile(src.fsys, p)
		if err != nil {
			return err
		}
		if p == dirsFile {
			for _, dir := range strings.Fields(string(raw)) {
				if !isRelativeInside(dir) {
					return fmt.Errorf("template %s: %s names %q, which is not a relative path inside the environment", src.where, dirsFile, dir)
				}
				if err := mkdir(filepath.Join(root, filepath.FromSlash(dir))); err != nil {
					return err
				}
			}
			return nil
		}
		return write(p, raw)
	})
	if err == nil && src.fallbackManifest != nil {
		err = write(ManifestFile, src.fallbackManifest)
	}
	if err != nil {
		return nil, err
	}
	return manifestText, nil
}

// existingEnv reads the .metadata already at root, if any. Without force an
// existing environment is refused; with force it must be of the same
// template (the OQTOPUS CLI's environment, which has no berth.yaml), and
// init then only adds the files it lacks.
func existingEnv(root, kind string, force bool) (*Metadata, error) {
	path := filepath.Join(root, MetadataFile)
	if _, err := os.Stat(path); err != nil {
		return nil, nil
	}
	if !force {
		return nil, fmt.Errorf("%s is already an environment: use it as it is, or pass --force to add the files of template %s it lacks (berth.yaml for one the OQTOPUS CLI made; nothing is overwritten)", root, kind)
	}
	meta, err := ReadMetadata(path)
	if err != nil {
		return nil, err
	}
	if t, _ := meta.Get(KeyTemplate); t != kind {
		return nil, fmt.Errorf("%s is an environment of template %q, not %q: choose --template %s, or another directory", root, t, kind, t)
	}
	return meta, nil
}

// cliPlaceholder is the one placeholder of the OQTOPUS CLI's templates
// (config/.env's image name); berth's own templates use {{.Name}}.
const cliPlaceholder = "{{ env_name }}"

// manifestOfTemplate renders the embedded manifest of template for an
// environment made without one (by the OQTOPUS CLI).
func manifestOfTemplate(template string, data templateData, path string) (*Manifest, error) {
	raw, err := templatesFS.ReadFile("templates/" + template + "/" + ManifestFile)
	if err != nil {
		return nil, fmt.Errorf("read manifest: %s does not exist, and template %q of %s is not one of berth's (%s): write a %s", path, template, MetadataFile, strings.Join(Templates(), ", "), ManifestFile)
	}
	text, err := render(ManifestFile, raw, data)
	if err != nil {
		return nil, err
	}
	return ParseManifest(path, text)
}
