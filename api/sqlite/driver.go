package sqlite

import (
	"errors"
	"net/url"
	"path/filepath"
	"strings"

	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Driver is the database/sql driver of SQLite this package opens files
// with: modernc.org/sqlite (SQLite translated to Go: no cgo, nothing but Go
// to build) unless a build chose another before the first Open (package
// api/sqlite/drivers, under a build tag: BENCHMARKS.md compares them).
type Driver struct {
	// Package names the driver, for people.
	Package string
	// Name is the name the driver registered with database/sql.
	Name string
	// DSN is the data source name of the file at the absolute path abs
	// whose connections run pragmas (e.g. "busy_timeout(5000)"), their
	// transactions beginning IMMEDIATE when txlock is "immediate", else
	// DEFERRED.
	DSN func(abs string, pragmas []string, txlock string) string
	// ConstraintCode is SQLite's extended result code of err, 0 when err
	// is none of the driver's.
	ConstraintCode func(err error) int
}

// Modernc is the default Driver, modernc.org/sqlite.
var Modernc = Driver{Package: "modernc.org/sqlite", Name: "sqlite",
	DSN: func(abs string, pragmas []string, txlock string) string {
		return FileURI(abs, url.Values{"_pragma": pragmas}, txlock)
	},
	ConstraintCode: func(err error) int {
		var se *sqlite.Error
		if !errors.As(err, &se) {
			return 0
		}
		return se.Code()
	},
}

// driver is the Driver of this build.
var driver = Modernc

// SetDriver makes this build open files with d, from then on: call it
// before the first Open (an init function of package api/sqlite/drivers
// does, under its build tags).
func SetDriver(d Driver) { driver = d }

// CurrentDriver is the Driver files are opened with.
func CurrentDriver() Driver { return driver }

// SQLite's extended result codes of constraintCode.
const (
	constraintPrimaryKey = sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	constraintUnique     = sqlite3.SQLITE_CONSTRAINT_UNIQUE
)

// FileURI is the file: URI of the file at the absolute path abs (every
// character of the path escaped) with the query q, plus _txlock=txlock
// when txlock is not empty.
func FileURI(abs string, q url.Values, txlock string) string {
	p := filepath.ToSlash(abs)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // a Windows drive letter
	}
	if txlock != "" {
		q.Set("_txlock", txlock)
	}
	u := url.URL{Scheme: "file", Path: p, RawQuery: q.Encode()}
	return u.String()
}

// dsn is the data source name of the file at abs with the driver of this
// build.
func dsn(abs string, pragmas []string, txlock string) string { return driver.DSN(abs, pragmas, txlock) }

// constraintCode returns the extended result code of err, if it is
// SQLite's, or 0.
func constraintCode(err error) int { return driver.ConstraintCode(err) }
