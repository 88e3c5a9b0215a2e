// Package drivers holds the SQLite drivers api/sqlite can be built with
// besides its default, modernc.org/sqlite, each under a build tag and
// only in the builds that import this package (batchesd, the store's
// tests): with the tag sqlite_ncruces, github.com/ncruces/go-sqlite3
// (SQLite compiled to WebAssembly and translated to Go: no cgo); with
// sqlite_mattn, github.com/mattn/go-sqlite3 (SQLite's C through cgo:
// CGO_ENABLED=1 and a C compiler). Without a tag it does nothing.
// BENCHMARKS.md compares them (batchesbench drivers):
//
//	go build -tags sqlite_ncruces ./cmd/batchesd
//	CGO_ENABLED=1 go build -tags sqlite_mattn ./cmd/batchesd
//
// They are opt-in builds for measuring: a module that imports api/sqlite
// or api/batchestest does not require them.
package drivers
