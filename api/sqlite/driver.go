//go:build !sqlite_ncruces && !sqlite_mattn

package sqlite

import (
	"errors"
	"net/url"
	"path/filepath"
	"strings"

	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// The SQLite driver, chosen at build time; BENCHMARKS.md compares them.
// This file is the default, modernc.org/sqlite (SQLite translated to Go:
// no cgo, nothing but Go to build); driver_ncruces.go
// (github.com/ncruces/go-sqlite3, build tag sqlite_ncruces) and
// driver_mattn.go (github.com/mattn/go-sqlite3, cgo, build tag
// sqlite_mattn) are the others, opt-in builds for measuring them.
// Each file gives the driver's name, its data source names and the
// extended result code of its errors.

// DriverName is the database/sql name of the driver this build uses.
const DriverName = "sqlite (modernc.org/sqlite)"

// driverName is the database/sql name the driver registers.
const driverName = "sqlite"

// SQLite's extended result codes of constraintCode.
const (
	constraintPrimaryKey = sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	constraintUnique     = sqlite3.SQLITE_CONSTRAINT_UNIQUE
)

// dsn builds the data source name of the file at the absolute path abs:
// a file: URI, so that any character of the path is escaped, with one
// _pragma parameter for each of pragmas, run on every new connection, and
// _txlock when txlock is not empty.
func dsn(abs string, pragmas []string, txlock string) string {
	return fileURI(abs, url.Values{"_pragma": pragmas}, txlock)
}

// fileURI is the file: URI of abs with the query q, and _txlock when
// txlock is not empty.
func fileURI(abs string, q url.Values, txlock string) string {
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

// constraintCode returns the extended result code of err, if it is
// SQLite's, or 0.
func constraintCode(err error) int {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return 0
	}
	return se.Code()
}
