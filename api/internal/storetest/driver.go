package storetest

// The store's tests run with the SQLite driver of the build's tags (go test
// -tags sqlite_ncruces, sqlite_mattn), as batchesd would.
import _ "github.com/mixpeekgo/batches/api/sqlite/drivers"
