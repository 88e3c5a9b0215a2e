package main

// The SQLite driver of this build: modernc.org/sqlite, or another under
// the build tags of package drivers (BENCHMARKS.md compares them).
import _ "github.com/mixpeekgo/batches/api/sqlite/drivers"
