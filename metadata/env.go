package metadata

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// EnvVar overrides where berth looks for the environment, like --env.
const EnvVar = "BERTH_ENV"

// ErrNoEnvironment means no .metadata was found.
var ErrNoEnvironment = errors.New("not inside a berth environment")

// NoEnvironmentError says where berth looked and how to make an environment.
type NoEnvironmentError struct{ From string }

func (e *NoEnvironmentError) Error() string {
	return fmt.Sprintf("not inside a berth environment (no %s in %s or any parent directory): create one with `berth init DIR --template backend`, or point at one with --env DIR or %s=DIR", MetadataFile, e.From, EnvVar)
}

func (e *NoEnvironmentError) Unwrap() error { return ErrNoEnvironment }

// MovedError means the environment's directory is not where .metadata says.
type MovedError struct{ Recorded, Actual string }

func (e *MovedError) Error() string {
	return fmt.Sprintf("this environment was created at %s but is now at %s (environment_root in %s): run `berth relocate --env %s` to record the new place", e.Recorded, e.Actual, MetadataFile, e.Actual)
}

// FindRoot returns the environment root: override (from --env or BERTH_ENV)
// if given, else the nearest directory from start upward holding .metadata.
func FindRoot(start, override string) (string, error) {
	if override != "" {
		abs, err := filepath.Abs(override)
		if err != nil {
			return "", err
		}
		if _, err := os.Stat(filepath.Join(abs, MetadataFile)); err != nil {
			return "", fmt.Errorf("%s is not a berth environment (no %s there): create one with `berth init %s`", abs, MetadataFile, override)
		}
		return abs, nil
	}
	dir, err := filepath.Abs(start)
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if fi, err := os.Stat(filepath.Join(d, MetadataFile)); err == nil && fi.Mode().IsRegular() {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", &NoEnvironmentError{From: dir}
		}
	}
}

// Env is an environment opened from disk.
type Env struct {
	Root     string
	Meta     *Metadata
	Manifest *Manifest
	DotEnv   *DotEnv
	// FromTemplate: the environment has no berth.yaml (the OQTOPUS CLI made
	// it) and Manifest is its template's.
	FromTemplate bool
	// Warnings are problems read past: a key set twice in .metadata and,
	// for an environment opened with OpenTolerant, bad lines.
	Warnings []string
}

// Open reads the environment at root: .metadata, berth.yaml and config/.env.
// The manifest is validated; an environment moved from where it was made is
// refused with a MovedError; a bad line in .metadata or config/.env is an
// error.
func Open(root string) (*Env, error) { return open(root, false) }

// OpenTolerant reads the environment as Open does, but a bad line in
// .metadata or config/.env becomes a warning in Env.Warnings: inspecting and
// stopping services need none of those values, so a typo there must not keep
// anyone from stopping what runs.
func OpenTolerant(root string) (*Env, error) { return open(root, true) }

func open(root string, tolerant bool) (*Env, error) {
	meta, err := ReadMetadata(filepath.Join(root, MetadataFile))
	if err != nil && (!tolerant || meta == nil) {
		return nil, err
	}
	e := &Env{Root: root, Meta: meta}
	e.warn(err)
	e.Warnings = append(e.Warnings, meta.Warnings...)
	if recorded, ok := e.Meta.Get(KeyEnvironmentRoot); ok && !samePath(recorded, e.Root) {
		return nil, &MovedError{Recorded: recorded, Actual: e.Root}
	}
	if e.Manifest, err = e.loadManifest(); err != nil {
		return nil, err
	}
	e.DotEnv, err = ReadDotEnv(e.Path("config", ".env"))
	if err != nil && (!tolerant || e.DotEnv == nil) {
		return nil, err
	}
	e.warn(err)
	return e, nil
}

// loadManifest reads berth.yaml; an environment the OQTOPUS CLI made has
// none and uses its template's embedded manifest (FromTemplate says so;
// `berth init --force` writes it out).
func (e *Env) loadManifest() (*Manifest, error) {
	path := e.Path(ManifestFile)
	m, err := loadManifestCached(path, e.Path(StateDirName, ManifestCacheFile))
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		return m, err
	}
	t, _ := e.Meta.Get(KeyTemplate)
	if t == "" {
		return nil, err
	}
	e.FromTemplate = true
	ir, ierr := e.InstallRoot()
	if ierr != nil {
		ir = DefaultInstallRoot(t)
	}
	return manifestOfTemplate(t, templateData{Name: e.Name(), Root: e.Root, InstallRoot: ir, Template: t}, path)
}

// warn records the lines of a tolerated parse error.
func (e *Env) warn(err error) {
	if err == nil {
		return
	}
	for _, line := range strings.Split(err.Error(), "\n") {
		e.Warnings = append(e.Warnings, line+" (read past: fix the line)")
	}
}

// OpenUnchecked reads only .metadata, for commands that repair an environment.
func OpenUnchecked(root string) (*Env, error) {
	meta, err := ReadMetadata(filepath.Join(root, MetadataFile))
	if err != nil {
		return nil, err
	}
	return &Env{Root: root, Meta: meta, Warnings: meta.Warnings}, nil
}

// MigrateLegacyKeys renames the legacy keys env_root and env_name of the
// .metadata at root to environment_root and environment_name in place, as the
// OQTOPUS CLI does at the start of every environment command. It is best
// effort: a file that is not writable, or that cannot be read, is left alone
// (reads fall back to the old names). It returns the keys renamed.
func MigrateLegacyKeys(root string) []string {
	path := filepath.Join(root, MetadataFile)
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm()&0o200 == 0 || unix.Access(path, unix.W_OK) != nil {
		return nil
	}
	m, err := ReadMetadata(path)
	if err != nil || len(m.Migrated) == 0 {
		return nil
	}
	l, err := Lock(filepath.Join(root, ".metadata.lock"))
	if err != nil {
		return nil
	}
	defer l.Unlock()
	if m, err = ReadMetadata(path); err != nil {
		return nil
	}
	renamed := m.Migrated
	if !m.MigrateLegacy() || WriteMetadata(path, m) != nil {
		return nil
	}
	return renamed
}

func samePath(a, b string) bool {
	if filepath.Clean(a) == filepath.Clean(b) {
		return true
	}
	ra, err1 := filepath.EvalSymlinks(a)
	rb, err2 := filepath.EvalSymlinks(b)
	return err1 == nil && err2 == nil && ra == rb
}

// Path joins elements onto the environment root.
func (e *Env) Path(elem ...string) string {
	return filepath.Join(append([]string{e.Root}, elem...)...)
}

// Name is the environment's name from .metadata, else its directory's name.
func (e *Env) Name() string {
	if n, ok := e.Meta.Get(KeyEnvironmentName); ok && n != "" {
		return n
	}
	return filepath.Base(e.Root)
}

// MissingKeyError means .metadata lacks a key a command needs.
type MissingKeyError struct{ Path, Key, Fix string }

func (e *MissingKeyError) Error() string {
	return fmt.Sprintf("%s is missing from %s: %s", e.Key, e.Path, e.Fix)
}

// InstallRoot is where release installs live, shared across environments:
// install_root in .metadata. An empty or missing value is an error naming the
// key (the OQTOPUS CLI counts an empty value as unset), so installs never go
// quietly to another directory.
func (e *Env) InstallRoot() (string, error) {
	if r, ok := e.Meta.Get(KeyInstallRoot); ok && r != "" {
		return r, nil
	}
	t, _ := e.Meta.Get(KeyTemplate)
	return "", &MissingKeyError{Path: e.Path(MetadataFile), Key: KeyInstallRoot,
		Fix: fmt.Sprintf("add the line install_root=%s (the default for template %q), or the directory that holds this environment's releases", DefaultInstallRoot(t), t)}
}

// Problems are what is wrong with .metadata beyond its syntax: keys the
// environment needs that are missing or empty (install_root, once the
// manifest declares components). validate reports them.
func (e *Env) Problems() []string {
	var ps []string
	if v, _ := e.Meta.Get(KeyTemplate); v == "" {
		ps = append(ps, fmt.Sprintf("%s is missing from %s: add template=NAME (backend, cloud-local, manager or demo)", KeyTemplate, e.Path(MetadataFile)))
	}
	if _, err := e.InstallRoot(); err != nil && (e.Manifest == nil || len(e.Manifest.ComponentOrder) > 0) {
		ps = append(ps, err.Error())
	}
	return ps
}

// DefaultInstallRoot is $XDG_DATA_HOME/<tool>/<template>/releases. The
// OQTOPUS templates (backend, cloud-local, manager) share the OQTOPUS CLI's
// root, so both tools see the same releases.
func DefaultInstallRoot(template string) string {
	base := os.Getenv("XDG_DATA_HOME")
	if base == "" {
		home, _ := os.UserHomeDir()
		base = filepath.Join(home, ".local", "share")
	}
	if template == "" {
		template = "default"
	}
	tool := "berth"
	if OQTOPUSTemplate(template) {
		tool = "oqtopus"
	}
	return filepath.Join(base, tool, template, "releases")
}

// Binding is what .metadata binds a component to: a release or a branch.
type Binding struct {
	Component string
	Version   string // vX.Y.Z, empty for a branch
	Branch    string // branch name, empty for a release
}

// BranchPrefix marks a branch binding: engine_version=branch:develop.
const BranchPrefix = "branch:"

// String is the binding as .metadata writes it.
func (b Binding) String() string {
	if b.Branch != "" {
		return BranchPrefix + b.Branch
	}
	return b.Version
}

// BindingKey is the .metadata key of a component's binding.
func BindingKey(component string) string { return component + "_version" }

// BindingKey is the .metadata key of a component's binding in this
// environment: the manifest's binding: for it, else <component>_version.
func (e *Env) BindingKey(component string) string {
	if e.Manifest != nil {
		return BindingKeyOf(component, e.Manifest.Components[component])
	}
	return BindingKey(component)
}

// NotInstalledError means a component has no binding in this environment.
type NotInstalledError struct{ Component string }

func (e *NotInstalledError) Error() string {
	return fmt.Sprintf("component %s is not installed in this environment: run `berth install %s`", e.Component, e.Component)
}

// Binding returns the component's binding, or a NotInstalledError.
func (e *Env) Binding(component string) (Binding, error) {
	v, ok := e.Meta.Get(e.BindingKey(component))
	if !ok || v == "" {
		return Binding{}, &NotInstalledError{Component: component}
	}
	if br, isBranch := strings.CutPrefix(v, BranchPrefix); isBranch {
		return Binding{Component: component, Branch: br}, nil
	}
	return Binding{Component: component, Version: v}, nil
}

// ReleaseDir is where a release of a component is installed.
func (e *Env) ReleaseDir(component, version string) (string, error) {
	root, err := e.InstallRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, component+"-"+version), nil
}

// BranchDir is where a branch install of a component lives.
func (e *Env) BranchDir(component string) string { return e.Path(component) }

// ComponentDir is the directory of the component version bound in .metadata.
func (e *Env) ComponentDir(component string) (string, error) {
	b, err := e.Binding(component)
	if err != nil {
		return "", err
	}
	if b.Branch != "" {
		return e.BranchDir(component), nil
	}
	return e.ReleaseDir(component, b.Version)
}

// UpdateMetadata re-reads .metadata under a lock, applies fn and writes the
// result atomically, so two berth processes never lose each other's changes.
func (e *Env) UpdateMetadata(fn func(*Metadata) error) error {
	path := e.Path(MetadataFile)
	l, err := Lock(e.Path(".metadata.lock"))
	if err != nil {
		return err
	}
	defer l.Unlock()
	m, err := ReadMetadata(path)
	if err != nil {
		return err
	}
	if err := fn(m); err != nil {
		return err
	}
	if err := WriteMetadata(path, m); err != nil {
		return err
	}
	e.Meta = m
	return nil
}

// Vars are the variables a command, tag or setup step may use: ENV_ROOT,
// ENV_NAME, INSTALL_ROOT, BERTH, UID, GID, then config/.env, then berth's
// own environment. component, if not empty, adds COMPONENT_DIR.
func (e *Env) Vars(component string) (func(string) (string, bool), error) {
	own := map[string]string{
		"ENV_ROOT": e.Root,
		"ENV_NAME": e.Name(),
		"UID":      strconv.Itoa(os.Getuid()),
		"GID":      strconv.Itoa(os.Getgid()),
	}
	// INSTALL_ROOT is there when .metadata has it; a command that uses it
	// without it fails naming the variable.
	if r, ok := e.Meta.Get(KeyInstallRoot); ok && r != "" { // as InstallRoot, without its error
		own["INSTALL_ROOT"] = r
	}
	if exe, err := executable(); err == nil {
		own["BERTH"] = exe
	}
	if component != "" {
		dir, err := e.ComponentDir(component)
		if err != nil {
			return nil, err
		}
		own["COMPONENT_DIR"] = dir
	}
	return func(k string) (string, bool) {
		if v, ok := own[k]; ok {
			return v, true
		}
		if v, ok := e.DotEnv.Get(k); ok {
			return v, true
		}
		return os.LookupEnv(k)
	}, nil
}

// executable is os.Executable, read once: Vars runs for every service a
// start resolves.
var executable = sync.OnceValues(os.Executable)

// OQTOPUSTemplate says whether template is one of the OQTOPUS CLI's.
func OQTOPUSTemplate(template string) bool {
	switch template {
	case "backend", "cloud-local", "manager":
		return true
	}
	return false
}
