//go:build sqlite_mattn

package sqlite

import (
	"errors"
	"net/url"
	"path/filepath"
	"strings"

	mattn "github.com/mattn/go-sqlite3"
)

// The driver of the build tag sqlite_mattn: github.com/mattn/go-sqlite3
// (SQLite's C source through cgo: needs a C compiler and CGO_ENABLED=1).
// See driver.go.

// DriverName is the database/sql name of the driver this build uses.
const DriverName = "sqlite3 (github.com/mattn/go-sqlite3, cgo)"

const driverName = "sqlite3"

var (
	constraintPrimaryKey = int(mattn.ErrConstraintPrimaryKey)
	constraintUnique     = int(mattn.ErrConstraintUnique)
)

// dsn: mattn/go-sqlite3 takes each pragma as a parameter of its own.
func dsn(abs string, pragmas []string, txlock string) string {
	q := url.Values{}
	for _, p := range pragmas {
		name, value, _ := strings.Cut(strings.TrimSuffix(p, ")"), "(")
		q.Set("_"+name, value)
	}
	p := filepath.ToSlash(abs)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	if txlock != "" {
		q.Set("_txlock", txlock)
	}
	u := url.URL{Scheme: "file", Path: p, RawQuery: q.Encode()}
	return u.String()
}

func constraintCode(err error) int {
	var se mattn.Error
	if !errors.As(err, &se) {
		return 0
	}
	return int(se.ExtendedCode)
}
