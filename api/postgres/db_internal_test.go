package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mixpeekgo/batches"
	"github.com/mixpeekgo/batches/api/domain"
	"github.com/mixpeekgo/batches/api/postgres/pgtest"
)

// openTest opens a new database, closed at the end of the test.
func openTest(t *testing.T, opts ...Option) (*DB, string) {
	t.Helper()
	u := pgtest.NewDatabase(t)
	db, err := Open(t.Context(), u, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db, u
}

// bucket creates an organization, a namespace and a bucket with the given
// id.
func bucket(t *testing.T, db *DB, id string) domain.Bucket {
	t.Helper()
	ctx := t.Context()
	org, err := db.CreateOrganization(ctx, "Org "+id)
	if err != nil {
		t.Fatal(err)
	}
	ns, err := db.CreateNamespace(ctx, org.ID, "production")
	if err != nil {
		t.Fatal(err)
	}
	b, err := db.CreateBucket(ctx, ns.ID, "main", id)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func batch(id string, status batches.TaskStatus, created time.Time) domain.Batch {
	return domain.Batch{
		BatchID: id, Status: status, Type: batches.BatchTypeBucket, ObjectIDs: []string{"obj_" + id},
		TotalTiers: 1, CreatedAt: created, UpdatedAt: created.Add(time.Second), Metadata: map[string]any{"n": 1},
	}
}

func TestConcurrentOpenMigratesOnce(t *testing.T) {
	t.Parallel()
	u := pgtest.NewDatabase(t)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Go(func() {
			db, err := Open(t.Context(), u)
			if err == nil {
				db.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("concurrent Open: %v", err)
		}
	}
	db, err := Open(t.Context(), u, WithExistingSchema())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, _ := db.pool.Query(t.Context(), `SELECT version_id, count(*) FROM goose_db_version WHERE version_id > 0 GROUP BY version_id ORDER BY version_id`)
	var got []string
	var v, n int64
	if _, err := pgx.ForEachRow(rows, []any{&v, &n}, func() error {
		got = append(got, fmt.Sprintf("%d×%d", v, n))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// Every migration, river's Go migrations included.
	var want []string
	for i := range Migrations() {
		want = append(want, fmt.Sprintf("%d×1", i+1))
	}
	if !slices.Equal(got, want) {
		t.Errorf("goose_db_version holds %v, want %v", got, want)
	}
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	if _, err := Open(ctx, ""); !errors.Is(err, domain.ErrInvalid) {
		t.Errorf("Open(\"\") = %v, want ErrInvalid", err)
	}
	if _, err := Open(ctx, "postgres://user:s3cret@host:notaport/db"); !errors.Is(err, domain.ErrInvalid) || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("Open of a malformed URL = %v, want ErrInvalid without the password", err)
	}
	if _, err := Open(ctx, "postgres://user:s3cret@127.0.0.1:1/db?connect_timeout=2"); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("Open of an unreachable server = %v, want an error without the password", err)
	}

	u := pgtest.NewDatabase(t)
	if _, err := Open(ctx, u, WithExistingSchema()); !errors.Is(err, ErrNoSchema) {
		t.Errorf("Open(WithExistingSchema) of an empty database = %v, want ErrNoSchema", err)
	}
	// ErrNoSchema left it empty: a plain Open migrates it, and then
	// WithExistingSchema opens it.
	db, err := Open(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err = Open(ctx, u, WithExistingSchema())
	if err != nil {
		t.Fatalf("Open(WithExistingSchema) of a migrated database: %v", err)
	}
	db.Close()

	// A database in another encoding than UTF8.
	latin := pgtest.NewDatabase(t)
	conn, err := pgx.Connect(ctx, latin)
	if err != nil {
		t.Fatal(err)
	}
	name := conn.Config().Database
	conn.Close(ctx)
	admin, err := pgx.Connect(ctx, os.Getenv(pgtest.EnvDatabaseURL))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	for _, q := range []string{
		`DROP DATABASE ` + name,
		`CREATE DATABASE ` + name + ` ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0`,
	} {
		if _, err := admin.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Open(ctx, latin); err == nil || !strings.Contains(err.Error(), "LATIN1, not UTF8") {
		t.Errorf("Open of a LATIN1 database = %v", err)
	}
}

func TestStatementTimeoutSetting(t *testing.T) {
	t.Parallel()
	u := pgtest.NewDatabase(t)
	show := func(db *DB) string {
		// SHOW is a statement like any other: under a 1 ms timeout on a
		// loaded machine it may itself be canceled (57014), which says the
		// setting is in force; ask again (up to 100 times).
		var s string
		var err error
		for range 100 {
			err = db.pool.QueryRow(t.Context(), `SHOW statement_timeout`).Scan(&s)
			if pe, ok := errors.AsType[*pgconn.PgError](err); !ok || pe.Code != "57014" {
				break
			}
		}
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	withParam, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	q := withParam.Query()
	q.Set("statement_timeout", "2500")
	withParam.RawQuery = q.Encode()
	for _, tc := range []struct {
		url  string
		opts []Option
		want string
	}{
		{u, nil, "10s"},
		{u, []Option{WithStatementTimeout(1500 * time.Millisecond)}, "1500ms"},
		{u, []Option{WithStatementTimeout(time.Microsecond)}, "1ms"},
		{u, []Option{WithStatementTimeout(0)}, "0"},
		{withParam.String(), nil, "2500ms"},
		{withParam.String(), []Option{WithStatementTimeout(3 * time.Second)}, "3s"},
	} {
		db, err := Open(t.Context(), tc.url, tc.opts...)
		if err != nil {
			t.Fatal(err)
		}
		if got := show(db); got != tc.want {
			t.Errorf("statement_timeout %s, want %s", got, tc.want)
		}
		db.Close()
	}
}

func TestSlowQueryEndsByStatementTimeout(t *testing.T) {
	t.Parallel()
	db, u := openTest(t, WithStatementTimeout(300*time.Millisecond))
	b := bucket(t, db, "bkt_slow")
	release := pgtest.HoldLock(t, u)
	start := time.Now()
	_, _, err := db.ListBatches(t.Context(), domain.ListParams{BucketID: b.ID, Limit: 10}, nil)
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "57014" {
		t.Fatalf("ListBatches behind a lock = %v, want statement_timeout's 57014", err)
	}
	t.Logf("canceled after %v", time.Since(start))
	release()
	if _, _, err := db.ListBatches(t.Context(), domain.ListParams{BucketID: b.ID, Limit: 10}, nil); err != nil {
		t.Errorf("ListBatches once the lock is gone: %v", err)
	}
}

func TestSlowQueryEndsByContextDeadline(t *testing.T) {
	t.Parallel()
	db, u := openTest(t, WithStatementTimeout(0)) // no statement_timeout
	b := bucket(t, db, "bkt_slow")
	release := pgtest.HoldLock(t, u)
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	_, _, err := db.ListBatches(ctx, domain.ListParams{BucketID: b.ID, Limit: 10}, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ListBatches with a deadline behind a lock = %v, want context.DeadlineExceeded", err)
	}
	// The deadline reached the server: no query of ours is still waiting
	// there (a cancel request ended it, the connection was not just
	// dropped), while the lock is still held.
	var waiting int
	if err := db.pool.QueryRow(t.Context(), `
		SELECT count(*) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'`).Scan(&waiting); err != nil {
		t.Fatal(err)
	}
	if waiting != 0 {
		t.Errorf("%d queries still wait on the server after the deadline", waiting)
	}
	release()
	if _, _, err := db.ListBatches(t.Context(), domain.ListParams{BucketID: b.ID, Limit: 10}, nil); err != nil {
		t.Errorf("ListBatches once the lock is gone: %v", err)
	}
}

func TestListBatchesIsTheStoredDocs(t *testing.T) {
	t.Parallel()
	db, _ := openTest(t)
	b := bucket(t, db, "bkt_docs")
	base := time.Date(2025, 6, 1, 0, 0, 0, 1, time.FixedZone("X", 3600))
	var bs []domain.Batch
	for i := range 5 {
		bt := batch(fmt.Sprintf("btch_doc%03d", i), batches.TaskStatusCompleted, base.Add(time.Duration(i)*time.Minute))
		bt.Metadata = map[string]any{"html": "<b>&</b>", "big": 12345678901234567890.0}
		bs = append(bs, bt)
	}
	if err := db.InsertBatches(t.Context(), b.ID, bs); err != nil {
		t.Fatal(err)
	}
	prefix := []byte("prefix:")
	got, total, err := db.ListBatches(t.Context(), domain.ListParams{BucketID: b.ID, Offset: 1, Limit: 3}, prefix)
	if err != nil || total != 5 {
		t.Fatalf("ListBatches: total %d, %v", total, err)
	}
	want := []byte("prefix:[")
	for i, j := range []int{3, 2, 1} {
		listed := domain.AsListed(b.ID, bs[j])
		doc, err := domain.BatchJSON(listed)
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 {
			want = append(want, ',')
		}
		want = append(want, doc...)
	}
	want = append(want, ']')
	if !bytes.Equal(got, want) {
		t.Errorf("ListBatches\n%s\nwant\n%s", got, want)
	}
	got, total, err = db.ListBatches(t.Context(), domain.ListParams{BucketID: b.ID, Offset: 5, Limit: 3}, nil)
	if err != nil || total != 5 || string(got) != "[]" {
		t.Errorf("past the end: %s, %d, %v", got, total, err)
	}
	got, total, err = db.ListBatches(t.Context(), domain.ListParams{BucketID: "bkt_nope", Limit: 3}, nil)
	if err != nil || total != 0 || string(got) != "[]" {
		t.Errorf("unknown bucket: %s, %d, %v", got, total, err)
	}
}

// TestListQueriesUseTheIndexes: a deep page is found in the index, without
// reading the rows it skips.
func TestListQueriesUseTheIndexes(t *testing.T) {
	t.Parallel()
	db, _ := openTest(t)
	b := bucket(t, db, "bkt_idx")
	other := bucket(t, db, "bkt_other")
	statuses := []batches.TaskStatus{batches.TaskStatusCompleted, batches.TaskStatusFailed, batches.TaskStatusPending, batches.TaskStatusDraft}
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, bk := range []domain.Bucket{b, other} {
		var batches []domain.Batch
		for i := range 3000 {
			bt := batch(fmt.Sprintf("btch_%s%05d", bk.ID[4:], i), statuses[i%len(statuses)], base.Add(time.Duration(i)*time.Second))
			bt.CollectionIDs = []string{fmt.Sprintf("col_%d", i%3)}
			batches = append(batches, bt)
		}
		if err := db.InsertBatches(t.Context(), bk.ID, batches); err != nil {
			t.Fatal(err)
		}
	}
	// VACUUM marks the pages all-visible, which index-only scans need, only
	// once the inserts' commits are on disk; the test cluster commits
	// asynchronously, so this waits for its WAL writer (200 ms).
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var visible, pages int
		if _, err := db.pool.Exec(t.Context(), `VACUUM ANALYZE batches, batch_collections`); err != nil {
			t.Fatal(err)
		}
		if err := db.pool.QueryRow(t.Context(), `SELECT sum(relallvisible), sum(relpages) FROM pg_class
			WHERE oid IN ('batches'::regclass, 'batch_collections'::regclass)`).Scan(&visible, &pages); err != nil {
			t.Fatal(err)
		}
		if visible == pages {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("VACUUM left %d of %d pages not all-visible", pages-visible, pages)
		}
	}
	for _, tc := range []struct {
		query, index string
		args         []any
	}{
		{pageQuery, "batches_bucket_created", []any{b.ID, 10, 2500}},
		{pageByStatusQuery, "batches_bucket_status_created", []any{b.ID, 10, 500, "FAILED"}},
		{pageByCollectionQuery, "batch_collections_key", []any{b.ID, 10, 900, "col_1"}},
		{pageByCollectionStatusQuery, "batch_collections_status", []any{b.ID, 10, 200, "col_1", "FAILED"}},
	} {
		rows, err := db.pool.Query(t.Context(), "EXPLAIN "+tc.query, tc.args...)
		if err != nil {
			t.Fatal(err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		plan := strings.Join(lines, "\n")
		if !strings.Contains(plan, "Index Only Scan using "+tc.index) {
			t.Errorf("the page's ids are not read from %s alone:\n%s", tc.index, plan)
		}
		if strings.Contains(plan, "Seq Scan") {
			t.Errorf("the plan scans batches:\n%s", plan)
		}
	}
}

// TestMigration6AddsMixpeekFields: the SQL of version 6 rewrites a doc
// stored before the contract's 2.0.0 (without manifest_key,
// loaded_object_ids, internal_metadata, tier_tasks and dag_tiers) into
// exactly what domain.BatchJSON renders for it, every other value copied
// byte for byte (escapes, numbers, nanoseconds), as SQLite's Go migration
// of the same version does; a doc that has the fields is left as it is.
func TestMigration6AddsMixpeekFields(t *testing.T) {
	t.Parallel()
	db, _ := openTest(t)
	b := bucket(t, db, "bkt_v6")
	ctx := t.Context()
	sql, err := fs.ReadFile(embedded, "migrations/00006_batch_docs_mixpeek_fields.sql")
	if err != nil {
		t.Fatal(err)
	}
	up := string(sql)
	up = up[strings.Index(up, "-- +goose Up"):strings.Index(up, "-- +goose Down")]

	varied := domain.DemoBatches(time.Now(), b.ID)[:30]
	n := func(s string) *string { return &s }
	varied = append(varied, domain.Batch{
		BatchID: "btch_html", Status: batches.TaskStatusFailed, Type: batches.BatchTypeBucket, TotalTiers: 1,
		ObjectIDs: []string{"obj_<a>&b"}, Error: n(`<script>"x" \ y</script>`), CollectionIDs: []string{"col_é", "col_\u2028"},
		Metadata: map[string]any{"html": "<b>&</b>", "u": "日本語 🎉 \u2029", "big": json.Number("12345678901234567890"),
			"f": json.Number("1.50"), "e": json.Number("1E+2"), "nested": map[string]any{"l": []any{nil, true, 1.5}}},
		CreatedAt: time.Date(2025, 6, 1, 12, 0, 0, 120000001, time.UTC), UpdatedAt: time.Date(2025, 6, 1, 12, 0, 1, 0, time.UTC),
	})
	strip := strings.NewReplacer(`"dag_tiers":null,`, "", `"internal_metadata":null,"loaded_object_ids":null,"manifest_key":null,`, "", `"tier_tasks":[],`, "")
	want := map[string]string{}
	for i, x := range varied {
		x.BucketID = b.ID
		if i == 0 {
			// One stored as this version writes it, with its tier tasks.
			if err := db.InsertBatches(ctx, b.ID, []domain.Batch{x}); err != nil {
				t.Fatal(err)
			}
			doc, _ := domain.BatchJSON(x)
			want[x.BatchID] = string(doc)
			continue
		}
		x.DagTiers, x.InternalMetadata, x.LoadedObjectIDs, x.ManifestKey, x.TierTasks = nil, nil, nil, nil, nil
		doc, err := domain.BatchJSON(x)
		if err != nil {
			t.Fatal(err)
		}
		want[x.BatchID] = string(doc)
		old := strip.Replace(string(doc))
		if strings.Contains(old, "tier_tasks") || strings.Contains(old, "dag_tiers") {
			t.Fatalf("%s: not stripped: %s", x.BatchID, old)
		}
		row, err := domain.BatchRow(b.ID, x)
		if err != nil {
			t.Fatal(err)
		}
		row[len(row)-1] = old
		if _, err := db.pool.Exec(ctx, `INSERT INTO batches (`+strings.Join(domain.BatchColumns(), ", ")+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`, row...); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.pool.Exec(ctx, up); err != nil {
		t.Fatalf("version 6: %v", err)
	}
	for id, w := range want {
		var doc string
		if err := db.pool.QueryRow(ctx, `SELECT doc FROM batches WHERE id = $1`, id).Scan(&doc); err != nil {
			t.Fatal(err)
		}
		if doc != w {
			t.Errorf("%s: doc\n%s\nwant\n%s", id, doc, w)
		}
	}
}
