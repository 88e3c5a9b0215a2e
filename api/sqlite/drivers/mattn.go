//go:build sqlite_mattn

package drivers

import (
	"errors"
	"net/url"
	"strings"

	mattn "github.com/mattn/go-sqlite3"

	"github.com/mixpeekgo/batches/api/sqlite"
)

func init() {
	sqlite.SetDriver(sqlite.Driver{Package: "github.com/mattn/go-sqlite3", Name: "sqlite3",
		// mattn/go-sqlite3 takes each pragma as a parameter of its own:
		// busy_timeout(5000) is _busy_timeout=5000.
		DSN: func(abs string, pragmas []string, txlock string) string {
			q := url.Values{}
			for _, p := range pragmas {
				name, value, _ := strings.Cut(strings.TrimSuffix(p, ")"), "(")
				q.Set("_"+name, value)
			}
			return sqlite.FileURI(abs, q, txlock)
		},
		ConstraintCode: func(err error) int {
			var se mattn.Error
			if !errors.As(err, &se) {
				return 0
			}
			return int(se.ExtendedCode)
		},
	})
}
