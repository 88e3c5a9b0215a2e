//go:build sqlite_ncruces && !sqlite_mattn

package drivers

import (
	"errors"
	"net/url"

	ncruces "github.com/ncruces/go-sqlite3"
	_ "github.com/ncruces/go-sqlite3/driver"
	_ "github.com/ncruces/go-sqlite3/embed"

	"github.com/mixpeekgo/batches/api/sqlite"
)

func init() {
	sqlite.SetDriver(sqlite.Driver{Package: "github.com/ncruces/go-sqlite3", Name: "sqlite3",
		// The same parameters as modernc.org/sqlite's, but for its
		// default transactions, IMMEDIATE.
		DSN: func(abs string, pragmas []string, txlock string) string {
			if txlock == "" {
				txlock = "deferred"
			}
			return sqlite.FileURI(abs, url.Values{"_pragma": pragmas}, txlock)
		},
		ConstraintCode: func(err error) int {
			var se *ncruces.Error
			if !errors.As(err, &se) {
				return 0
			}
			return int(se.ExtendedCode())
		},
	})
}
