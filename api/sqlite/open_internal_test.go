package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/pressly/goose/v3"
)

// envOpenHelper, when set, makes the test binary a process that Opens the
// file it names, seeds the demo, closes it and exits (TestOpenHelper).
const envOpenHelper = "BATCHES_SQLITE_OPEN_HELPER"

// TestOpenHelper is the body of the processes of
// TestConcurrentOpensOfProcesses; it skips in an ordinary run.
func TestOpenHelper(t *testing.T) {
	path := os.Getenv(envOpenHelper)
	if path == "" {
		t.Skip("runs as a helper process only")
	}
	db, err := Open(context.Background(), path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	_, seeded, err := db.SeedDemo(context.Background(), "")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := db.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("seeded=%v\n", seeded)
	os.Exit(0)
}

// atVersion1 returns the path of a new database file at schema version 1
// (before batches had docs), holding one batch without a doc, not in WAL
// mode: what an old server left.
func atVersion1(t *testing.T) string {
	t.Helper()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "v1.db")
	raw, _ := openAtVersion1(t, path, []string{"foreign_keys(1)"}, "")
	defer raw.Close()
	for _, stmt := range []string{
		`INSERT INTO buckets VALUES ('bkt_a', 'ns_1', 'a', 0)`,
		`INSERT INTO batches (id, bucket_id, status, type, created_at, updated_at)
			VALUES ('btch_old', 'bkt_a', 'COMPLETED', 'BUCKET', 1, 2)`,
	} {
		if _, err := raw.ExecContext(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// openAtVersion1 creates the database file path (the dsn of pragmas and
// txlock), migrates it to schema version 1 (before batches had docs) and
// inserts the organization org_1 and its namespace ns_1 (production); it
// returns the database, closed when t ends, and the goose provider that
// migrated it, to take it further.
func openAtVersion1(t testing.TB, path string, pragmas []string, txlock string) (*sql.DB, *goose.Provider) {
	t.Helper()
	ctx := t.Context()
	raw, err := sql.Open("sqlite", dsn(path, pragmas, txlock))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	fsys, err := fs.Sub(embedded, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, raw, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 1); err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		`INSERT INTO organizations VALUES ('org_1', 'Acme', 0)`,
		`INSERT INTO namespaces VALUES ('ns_1', 'org_1', 'production', 0)`,
	} {
		if _, err := raw.ExecContext(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	return raw, p
}

// checkMigratedOnce fails t unless the database at path records each
// migration once and is fully migrated, in WAL mode, with every batch's
// doc written.
func checkMigratedOnce(t *testing.T, path string) {
	t.Helper()
	ctx := t.Context()
	raw, err := sql.Open("sqlite", dsn(path, []string{"busy_timeout(5000)"}, ""))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var versions, distinct, max int64
	if err := raw.QueryRowContext(ctx, `SELECT count(*), count(DISTINCT version_id), max(version_id)
		FROM goose_db_version WHERE version_id > 0`).Scan(&versions, &distinct, &max); err != nil {
		t.Fatal(err)
	}
	if want := int64(len(migrationVersions(t))); versions != want || distinct != want || max != want {
		t.Errorf("goose_db_version: %d rows, %d versions, up to %d; want each of 1…%d once", versions, distinct, max, want)
	}
	var mode string
	if err := raw.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode %q, %v; want wal", mode, err)
	}
	var empty int
	if err := raw.QueryRowContext(ctx, `SELECT count(*) FROM batches WHERE doc = ''`).Scan(&empty); err != nil || empty != 0 {
		t.Errorf("%d batches without a doc, %v", empty, err)
	}
}

// migrationVersions returns the versions of every migration.
func migrationVersions(t *testing.T) []int64 {
	t.Helper()
	files, err := fs.Glob(embedded, "migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	vs := make([]int64, 0, len(files))
	for range len(files) + len(goMigrations()) {
		vs = append(vs, int64(len(vs)+1))
	}
	return vs
}

// TestConcurrentOpens: goroutines that Open one file at the same moment, a
// new one or one an old server left at version 1, all succeed, and the
// migrations run once.
func TestConcurrentOpens(t *testing.T) {
	for name, path := range map[string]func(t *testing.T) string{
		"new":       func(t *testing.T) string { return filepath.Join(t.TempDir(), "s.db") },
		"version 1": atVersion1,
	} {
		t.Run(name, func(t *testing.T) {
			path := path(t)
			const n = 8
			var (
				start sync.WaitGroup
				wg    sync.WaitGroup
				errs  [n]error
			)
			start.Add(1)
			for i := range n {
				wg.Go(func() {
					start.Wait()
					db, err := Open(t.Context(), path)
					if err != nil {
						errs[i] = err
						return
					}
					errs[i] = db.Close()
				})
			}
			start.Done()
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("Open %d: %v", i, err)
				}
			}
			checkMigratedOnce(t, path)
		})
	}
}

// TestConcurrentOpensOfProcesses: processes that Open one file and seed
// the demo at the same moment, on a new file or one at version 1, all
// succeed; the migrations run once and the demo is seeded once.
func TestConcurrentOpensOfProcesses(t *testing.T) {
	if os.Getenv(envOpenHelper) != "" {
		t.Skip("in a helper process")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for name, path := range map[string]func(t *testing.T) string{
		"new":       func(t *testing.T) string { return filepath.Join(t.TempDir(), "d", "s.db") },
		"version 1": atVersion1,
	} {
		t.Run(name, func(t *testing.T) {
			path := path(t)
			const n = 4
			cmds := make([]*exec.Cmd, n)
			outs := make([]*outputs, n)
			for i := range cmds {
				cmds[i] = exec.CommandContext(t.Context(), exe, "-test.run=^TestOpenHelper$", "-test.count=1")
				cmds[i].Env = append(os.Environ(), envOpenHelper+"="+path)
				outs[i] = &outputs{}
				cmds[i].Stdout, cmds[i].Stderr = &outs[i].stdout, &outs[i].stderr
				if err := cmds[i].Start(); err != nil {
					t.Fatal(err)
				}
			}
			seeded := 0
			for i, c := range cmds {
				if err := c.Wait(); err != nil {
					t.Errorf("process %d: %v\n%s", i, err, outs[i].stderr.String())
				}
				switch out := outs[i].stdout.String(); out {
				case "seeded=true\n":
					seeded++
				case "seeded=false\n":
				default:
					t.Errorf("process %d printed %q", i, out)
				}
			}
			wantSeeded := 1
			if name == "version 1" {
				wantSeeded = 0 // it has an organization
			}
			if seeded != wantSeeded {
				t.Errorf("%d processes seeded the demo, want %d", seeded, wantSeeded)
			}
			checkMigratedOnce(t, path)
		})
	}
}

// outputs are a process's standard output and error.
type outputs struct{ stdout, stderr bytes.Buffer }

// TestOpenWaitsForTheLockUntilCtxIsDone: while another holds the lock,
// Open waits, and fails with ctx's cause when ctx is done first.
func TestOpenWaitsForTheLockUntilCtxIsDone(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	unlock, err := lockFile(t.Context(), path+lockSuffix, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeoutCause(t.Context(), 50*time.Millisecond, errGaveUp)
	defer cancel()
	if db, err := Open(ctx, path); !errors.Is(err, errGaveUp) {
		t.Fatalf("Open while the lock is held: %v, %v; want %v", db, err, errGaveUp)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	db, err := Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open once the lock is free: %v", err)
	}
	db.Close()
}

var errGaveUp = errors.New("gave up waiting")
