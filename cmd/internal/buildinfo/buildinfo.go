// Package buildinfo tells what a binary of this module is: its module
// version, and the commit it was built from when the go command recorded
// it (runtime/debug.ReadBuildInfo). The binaries' --version and the
// server's build-info metric say it.
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Info is what a binary knows of its build.
type Info struct {
	// Version is the main module's version: a tag (v1.2.3), a pseudo
	// version, or "(devel)" for a build from a checkout (go run, go build).
	Version string
	// Revision and Time are the commit's id and time (RFC 3339), and
	// Modified whether the work tree had changes, when the go command
	// stamped them (a build in a Git checkout without -buildvcs=false);
	// empty otherwise.
	Revision, Time string
	Modified       bool
	// GoVersion is the toolchain that built the binary, e.g. go1.26.8.
	GoVersion string
}

// Read returns the Info of the running binary.
func Read() Info {
	i := Info{Version: "(unknown)", GoVersion: runtime.Version()}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return i
	}
	if v := bi.Main.Version; v != "" {
		i.Version = v
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			i.Revision = s.Value
		case "vcs.time":
			i.Time = s.Value
		case "vcs.modified":
			i.Modified = s.Value == "true"
		}
	}
	return i
}

// String is the line --version prints after the program's name, e.g.
// "(devel) commit 0048e8e1a2b3 2026-12-06T23:57:00Z (modified), go1.26.8 linux/amd64",
// or "v1.2.0, go1.26.8 linux/amd64".
func (i Info) String() string {
	s := i.Version
	if i.Revision != "" {
		rev := i.Revision
		if len(rev) > 12 {
			rev = rev[:12]
		}
		s += " commit " + rev
		if i.Time != "" {
			s += " " + i.Time
		}
		if i.Modified {
			s += " (modified)"
		}
	}
	return fmt.Sprintf("%s, %s %s/%s", s, i.GoVersion, runtime.GOOS, runtime.GOARCH)
}
