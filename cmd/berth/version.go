package main

import (
	"runtime/debug"
	"strings"
)

// version is set at build time with -ldflags "-X main.version=..."; when it
// is not ("dev"), berth --version reads the build information Go records.
var version = "dev"

// versionString is what berth --version prints after "berth version ": the
// module version (v1.2.3 from go install ...@v1.2.3, a pseudo-version, or
// "(devel)" for a build from a checkout), then the VCS revision, its time
// and "+dirty" for uncommitted changes when the build recorded them, and the
// Go version.
func versionString(info *debug.BuildInfo, ok bool) string {
	if version != "dev" {
		return version
	}
	if !ok || info == nil {
		return "unknown (no build information)"
	}
	v := info.Main.Version
	if v == "" {
		v = "(devel)"
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	var extra []string
	if rev := settings["vcs.revision"]; rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if settings["vcs.modified"] == "true" {
			rev += "+dirty"
		}
		extra = append(extra, "commit "+rev)
	}
	if t := settings["vcs.time"]; t != "" {
		extra = append(extra, t)
	}
	if info.GoVersion != "" {
		extra = append(extra, info.GoVersion)
	}
	if len(extra) > 0 {
		v += " (" + strings.Join(extra, ", ") + ")"
	}
	return v
}

func berthVersion() string { return versionString(debug.ReadBuildInfo()) }
