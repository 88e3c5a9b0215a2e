//go:build sqlite_ncruces && !sqlite_mattn

package sqlite

import (
	"errors"
	"net/url"
	"path/filepath"
	"strings"

	ncruces "github.com/ncruces/go-sqlite3"
	_ "github.com/ncruces/go-sqlite3/driver"
	_ "github.com/ncruces/go-sqlite3/embed"
)

// The driver of the build tag sqlite_ncruces: github.com/ncruces/go-sqlite3
// (SQLite compiled to WebAssembly and translated to Go by wasm2go: no cgo).
// See driver.go.

// DriverName is the database/sql name of the driver this build uses.
const DriverName = "sqlite3 (github.com/ncruces/go-sqlite3)"

const driverName = "sqlite3"

const (
	constraintPrimaryKey = int(ncruces.CONSTRAINT_PRIMARYKEY)
	constraintUnique     = int(ncruces.CONSTRAINT_UNIQUE)
)

// dsn: the same parameters as modernc.org/sqlite's.
func dsn(abs string, pragmas []string, txlock string) string {
	return fileURI(abs, url.Values{"_pragma": pragmas}, txlock)
}

func fileURI(abs string, q url.Values, txlock string) string {
	p := filepath.ToSlash(abs)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	if txlock != "" {
		q.Set("_txlock", txlock)
	} else {
		q.Set("_txlock", "deferred") // its default is immediate
	}
	u := url.URL{Scheme: "file", Path: p, RawQuery: q.Encode()}
	return u.String()
}

func constraintCode(err error) int {
	var se *ncruces.Error
	if !errors.As(err, &se) {
		return 0
	}
	return int(se.ExtendedCode())
}
