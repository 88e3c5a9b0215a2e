package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/pressly/goose/v3"
	"github.com/riverqueue/river/riverdriver/riversqlite"

	"github.com/mixpeekgo/batches/api/domain"
	"github.com/mixpeekgo/batches/api/river"
)

// goMigrations returns the migrations that need Go, numbered among the SQL
// files of migrations/ and each named as a file would be (its Source, which
// goose logs): api/postgres has a migration of that version and name.
// New values each time, as goose keeps state in them.
func goMigrations() []*goose.Migration {
	// The docs of the batches stored before 00002 added the column. Down
	// has nothing to do: 00002's down drops the column.
	backfill := goose.NewGoMigration(3, &goose.GoFunc{RunDB: backfillBatchDocs}, nil)
	backfill.Source = "00003_backfill_batch_docs.go"
	// The docs written before the contract's 2.0.0 gain Mixpeek's fields.
	// Down leaves them: an older server serves them as stored, and its
	// clients ignore fields they do not know.
	fields := goose.NewGoMigration(6, &goose.GoFunc{RunDB: addMixpeekFields}, nil)
	fields.Source = "00006_batch_docs_mixpeek_fields.go"
	all := []*goose.Migration{backfill, fields}
	// River's schema (the queue's), 8 to 15 (river.FirstVersion on).
	rivers, err := river.Migrations(riversqlite.New(nil))
	if err != nil {
		panic(err) // river's own embedded files: the tests rule it out
	}
	return append(all, rivers...)
}

// addMixpeekFields rewrites the doc of every batch that lacks tier_tasks
// (stored before the contract's 2.0.0) as domain.BatchJSON renders the
// batch it holds: the same fields and values, plus Mixpeek's
// manifest_key, loaded_object_ids, internal_metadata and dag_tiers as
// null and tier_tasks as [], in their places. A thousand rows a
// transaction, by rowid, carrying on where it stopped if interrupted (the
// version is recorded at the end).
func addMixpeekFields(ctx context.Context, db *sql.DB) error {
	for after := int64(-1 << 63); ; {
		n, last := 0, after
		err := inTx(ctx, db, func(tx *sql.Tx) error {
			rows, err := tx.QueryContext(ctx, `SELECT rowid, doc FROM batches
				WHERE rowid > ? AND json_type(doc, '$.tier_tasks') IS NULL ORDER BY rowid LIMIT ?`, after, backfillChunk)
			if err != nil {
				return err
			}
			type rendered struct {
				rowid int64
				doc   string
			}
			var chunk []rendered
			for rows.Next() {
				var (
					rowid int64
					doc   []byte
				)
				if err := rows.Scan(&rowid, &doc); err != nil {
					rows.Close()
					return err
				}
				newDoc, err := domain.RenderDoc(doc)
				if err != nil {
					rows.Close()
					return fmt.Errorf("batch at rowid %d: %w", rowid, err)
				}
				chunk = append(chunk, rendered{rowid, string(newDoc)})
			}
			if err := rows.Close(); err != nil {
				return err
			}
			for _, r := range chunk {
				if _, err := tx.ExecContext(ctx, `UPDATE batches SET doc = ? WHERE rowid = ?`, r.doc, r.rowid); err != nil {
					return err
				}
			}
			if n = len(chunk); n > 0 {
				last = chunk[n-1].rowid
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("adding Mixpeek's fields to batch docs: %w", err)
		}
		if n == 0 {
			return nil
		}
		after = last
	}
}

// backfillChunk is the number of rows backfillBatchDocs writes a
// transaction.
const backfillChunk = 1000

// backfillBatchDocs writes the doc of every batch that has none, rendered
// from its columns as the server rendered them before docs were stored
// (scanBatch, then domain.BatchJSON), so that an upgraded database
// serves the very bytes it served before. It works through the rows by
// rowid, a transaction for each chunk of them, so that the write-ahead log
// stays small however large the table; a backfill cut short leaves the
// version unrecorded and the next Open carries on with the rows still
// without a doc.
func backfillBatchDocs(ctx context.Context, db *sql.DB) error {
	for after := int64(-1 << 63); ; {
		var last int64
		n := 0
		err := inTx(ctx, db, func(tx *sql.Tx) error {
			rows, err := tx.QueryContext(ctx, `SELECT rowid, `+batchColumns+` FROM batches
				WHERE rowid > ? AND doc = '' ORDER BY rowid LIMIT ?`, after, backfillChunk)
			if err != nil {
				return err
			}
			type rendered struct {
				rowid int64
				doc   string
			}
			var chunk []rendered
			for rows.Next() {
				var rowid int64
				b, err := scanBatch(prefixScanner{rows, &rowid})
				if err != nil {
					rows.Close()
					return err
				}
				doc, err := domain.BatchJSON(b)
				if err != nil {
					rows.Close()
					return fmt.Errorf("batch %s: %w", b.BatchID, err)
				}
				chunk = append(chunk, rendered{rowid, string(doc)})
			}
			if err := rows.Close(); err != nil {
				return err
			}
			for _, r := range chunk {
				if _, err := tx.ExecContext(ctx, `UPDATE batches SET doc = ? WHERE rowid = ?`, r.doc, r.rowid); err != nil {
					return err
				}
			}
			if n = len(chunk); n > 0 {
				last = chunk[n-1].rowid
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("backfilling batch docs: %w", err)
		}
		if n == 0 {
			return nil
		}
		after = last
	}
}

// inTx runs f in a transaction of db, which it commits when f returns nil
// and rolls back otherwise.
func inTx(ctx context.Context, db *sql.DB, f func(tx *sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := f(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// prefixScanner scans its first column into first and the rest as asked.
type prefixScanner struct {
	rows  *sql.Rows
	first *int64
}

func (s prefixScanner) Scan(dest ...any) error {
	return s.rows.Scan(append([]any{s.first}, dest...)...)
}

// Migrations returns the versions and names of the migrations [Open]
// applies, in order: "00001_init", …, the name of each SQL file without
// its extension, and of each Go migration (its Source). api/postgres
// applies the same (storetest's TestMigrationsAlike compares them).
func Migrations() []string {
	var gos []string
	for _, m := range goMigrations() {
		gos = append(gos, m.Source)
	}
	return domain.MigrationNames(embedded, gos)
}
