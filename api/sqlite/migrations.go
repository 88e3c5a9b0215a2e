package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/pressly/goose/v3"

	"github.com/mixpeekgo/batches/api"
)

// goMigrations returns the migrations that need Go, numbered among the SQL
// files of migrations/; new values each time, as goose keeps state in them.
func goMigrations() []*goose.Migration {
	return []*goose.Migration{
		// 00003: the docs of the batches stored before 00002 added the
		// column. Down has nothing to do: 00002's down drops the column.
		goose.NewGoMigration(3, &goose.GoFunc{RunTx: backfillBatchDocs}, nil),
	}
}

// backfillChunk is the number of rows backfillBatchDocs reads at a time.
const backfillChunk = 1000

// backfillBatchDocs writes the doc of every batch that has none, rendered
// from its columns as the server rendered them before docs were stored
// (scanBatch, then the JSON of api.BatchJSON), so that an upgraded database
// serves the very bytes it served before. The rows are read in chunks by
// rowid, so that no query is open while rows are updated.
func backfillBatchDocs(ctx context.Context, tx *sql.Tx) error {
	update, err := tx.PrepareContext(ctx, `UPDATE batches SET doc = ? WHERE rowid = ?`)
	if err != nil {
		return err
	}
	defer update.Close()
	type rendered struct {
		rowid int64
		doc   string
	}
	for after := int64(-1 << 63); ; {
		rows, err := tx.QueryContext(ctx, `SELECT rowid, `+batchColumns+` FROM batches
			WHERE rowid > ? AND doc = '' ORDER BY rowid LIMIT ?`, after, backfillChunk)
		if err != nil {
			return err
		}
		var chunk []rendered
		for rows.Next() {
			var rowid int64
			b, err := scanBatch(prefixScanner{rows, &rowid})
			if err != nil {
				rows.Close()
				return fmt.Errorf("backfilling batch docs: %w", err)
			}
			doc, err := api.BatchJSON(&b)
			if err != nil {
				rows.Close()
				return fmt.Errorf("backfilling batch docs: batch %s: %w", b.BatchId, err)
			}
			chunk = append(chunk, rendered{rowid, string(doc)})
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()
		if len(chunk) == 0 {
			return nil
		}
		for _, r := range chunk {
			if _, err := update.ExecContext(ctx, r.doc, r.rowid); err != nil {
				return err
			}
		}
		after = chunk[len(chunk)-1].rowid
	}
}

// prefixScanner scans its first column into first and the rest as asked.
type prefixScanner struct {
	rows  *sql.Rows
	first *int64
}

func (s prefixScanner) Scan(dest ...any) error {
	return s.rows.Scan(append([]any{s.first}, dest...)...)
}
