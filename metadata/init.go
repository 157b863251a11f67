package metadata

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"text/template"
	"time"
)

//go:embed all:templates
var templatesFS embed.FS

// dirsFile lists, in a template, the directories init creates besides those
// holding files and the logs/<service>/ of every service.
const dirsFile = "_dirs.txt"

// Templates lists the embedded templates by name.
func Templates() []string {
	entries, _ := fs.ReadDir(templatesFS, "templates")
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names
}

// InitOptions says what environment to make.
type InitOptions struct {
	Dir string
	// Template is an embedded template's name, or, with TemplateDir, the
	// name the environment records as its template (default: TemplateDir's
	// base name).
	Template string
	// TemplateDir takes the template's files from a directory (one fetched
	// from a git repository, say) instead of the embedded ones. A template
	// without berth.yaml whose name is an embedded template's (the OQTOPUS
	// CLI's templates) uses the embedded manifest.
	TemplateDir string
	Name        string // default: the directory's name
	InstallRoot string // default: DefaultInstallRoot(Template)
	// Force allows a non-empty directory, and an environment of the same
	// template (the OQTOPUS CLI's, without berth.yaml): existing files,
	// .metadata included, are kept and only missing ones are written.
	Force bool
	Now   time.Time
}

// InitResult says what init did.
type InitResult struct {
	Root     string
	Name     string
	Template string
	// Existing: the directory was an environment already (.metadata kept).
	Existing bool
	Created  []string // paths relative to Root
	Kept     []string // files that existed and were left as they were
}

type templateData struct {
	Name, Root, InstallRoot, Template string
}

// Init creates an environment from an embedded template. It never overwrites
// a file: with Force, files already present are kept. If it fails half-way it
// removes what it created, and .metadata is written last, so a half-made
// directory is never taken for an environment.
func Init(opts InitOptions) (_ *InitResult, err error) {
	src, err := openTemplate(opts.Template, opts.TemplateDir)
	if err != nil {
		return nil, err
	}
	data, existing, err := initTarget(opts, src)
	if err != nil {
		return nil, err
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	w := &initWork{root: data.Root, res: &InitResult{Root: data.Root, Name: data.Name, Template: src.kind, Existing: existing}}
	defer func() {
		if err != nil {
			w.undo()
		}
	}()
	if err := w.mkdir(w.root); err != nil {
		return nil, err
	}
	manifestText, err := src.copyInto(w.root, data, w.mkdir, w.res)
	if err != nil {
		return nil, err
	}
	m, err := ParseManifest(filepath.Join(w.root, ManifestFile), manifestText)
	if err != nil {
		return nil, fmt.Errorf("template %s: %w", src.where, err)
	}
	for _, dir := range []string{PIDDirName, "logs"} {
		if err := w.mkdir(filepath.Join(w.root, dir)); err != nil {
			return nil, err
		}
	}
	for _, svc := range m.ServiceOrder {
		if err := w.mkdir(filepath.Join(w.root, "logs", svc)); err != nil {
			return nil, err
		}
	}
	if existing {
		w.res.Kept = append(w.res.Kept, MetadataFile)
		return w.res, nil
	}
	if err := w.writeMetadata(data, now); err != nil {
		return nil, err
	}
	return w.res, nil
}

// initTarget checks the options and says what init is to make: the
// environment's absolute root, its name and install root, and whether it
// completes an environment that exists (--force on one the OQTOPUS CLI made).
func initTarget(opts InitOptions, src *templateSource) (templateData, bool, error) {
	root, err := filepath.Abs(opts.Dir)
	if err != nil {
		return templateData{}, false, err
	}
	name := opts.Name
	if name == "" {
		name = filepath.Base(root)
	}
	existing, err := existingEnv(root, src.kind, opts.Force)
	if err != nil {
		return templateData{}, false, err
	}
	installRoot := opts.InstallRoot
	if existing != nil {
		if n, ok := existing.Get(KeyEnvironmentName); ok && n != "" && opts.Name == "" {
			name = n
		}
		if r, ok := existing.Get(KeyInstallRoot); ok && r != "" && installRoot == "" {
			installRoot = r
		}
	}
	if !ValidName(name) {
		return templateData{}, false, fmt.Errorf("invalid environment name %q: use lower-case letters, digits, '_', '.' and '-', starting with a letter or digit (pass --name)", name)
	}
	if entries, err := os.ReadDir(root); err == nil && len(entries) > 0 && !opts.Force {
		return templateData{}, false, fmt.Errorf("%s is not empty: choose an empty or new directory, or pass --force to add the environment to it (existing files are kept)", root)
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return templateData{}, false, fmt.Errorf("init %s: %w", root, err)
	}
	if installRoot == "" {
		installRoot = DefaultInstallRoot(src.kind)
	}
	if installRoot, err = filepath.Abs(installRoot); err != nil {
		return templateData{}, false, err
	}
	return templateData{Name: name, Root: root, InstallRoot: installRoot, Template: src.kind}, existing != nil, nil
}

// initWork is one init under way: what it made, so that a failure can
// remove it again.
type initWork struct {
	root        string
	res         *InitResult
	createdDirs []string
}

// undo removes the files init created, then the directories it made that
// are empty again.
func (w *initWork) undo() {
	for i := len(w.res.Created) - 1; i >= 0; i-- {
		os.Remove(filepath.Join(w.root, w.res.Created[i]))
	}
	for i := len(w.createdDirs) - 1; i >= 0; i-- {
		os.Remove(w.createdDirs[i]) // only if still empty
	}
}

// mkdir makes dir and its parents, remembering those that were missing.
func (w *initWork) mkdir(dir string) error {
	var missing []string
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil {
			break
		}
		missing = append(missing, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("init: %w", err)
	}
	for i := len(missing) - 1; i >= 0; i-- {
		w.createdDirs = append(w.createdDirs, missing[i])
	}
	return nil
}

// writeMetadata writes .metadata, last, and only if no one else has.
func (w *initWork) writeMetadata(data templateData, now time.Time) error {
	meta := &Metadata{}
	meta.Set(KeyTemplate, data.Template)
	meta.Set(KeyInstallRoot, data.InstallRoot)
	meta.Set(KeyEnvironmentName, data.Name)
	meta.Set(KeyEnvironmentRoot, w.root)
	meta.Set(KeyCreatedAt, now.UTC().Format(time.RFC3339))
	created, err := writeNew(filepath.Join(w.root, MetadataFile), meta.Bytes())
	if err != nil {
		return err
	}
	if !created {
		return fmt.Errorf("%s appeared while init ran: another init is making this environment", filepath.Join(w.root, MetadataFile))
	}
	w.res.Created = append(w.res.Created, MetadataFile)
	return nil
}

func render(name string, raw []byte, data templateData) ([]byte, error) {
	text := strings.ReplaceAll(string(raw), cliPlaceholder, data.Name)
	t, err := template.New(path.Base(name)).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, fmt.Errorf("template file %s: %w", name, err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return nil, fmt.Errorf("template file %s: %w", name, err)
	}
	return b.Bytes(), nil
}

// writeNew writes a file whole, but only if nothing is at path yet: the data
// goes to a temporary file that is then hard-linked into place, which fails
// rather than replace a file that appeared meanwhile.
func writeNew(target string, data []byte) (bool, error) {
	if _, err := os.Lstat(target); err == nil {
		return false, nil
	}
	dir := filepath.Dir(target)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(target)+".tmp-*")
	if err != nil {
		return false, fmt.Errorf("write %s: %w", target, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return false, fmt.Errorf("write %s: %w", target, err)
	}
	os.Chmod(tmp.Name(), 0o644)
	if err := os.Link(tmp.Name(), target); err != nil {
		if errors.Is(err, os.ErrExist) {
			return false, nil
		}
		return false, fmt.Errorf("write %s: %w", target, err)
	}
	return true, nil
}

// TemplateManifest parses the manifest of an embedded template, for commands
// that run outside an environment (`berth versions` uses the backend
// template's components). Paths in it name a placeholder root.
func TemplateManifest(name string) (*Manifest, error) {
	p := "templates/" + name + "/" + ManifestFile
	raw, err := templatesFS.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("unknown template %q: use one of %s", name, strings.Join(Templates(), ", "))
	}
	text, err := render(ManifestFile, raw, templateData{Name: name, Root: "/nonexistent", InstallRoot: DefaultInstallRoot(name), Template: name})
	if err != nil {
		return nil, err
	}
	return ParseManifest(p, text)
}
