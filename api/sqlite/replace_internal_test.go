package sqlite

import (
	"path/filepath"
	"testing"
)

// TestReplaceKeepsCountsOnOwnConnections: the store's connections run with
// recursive_triggers on, so the rows a REPLACE conflict resolution deletes
// leave batch_counts, as a DELETE's do.
func TestReplaceKeepsCountsOnOwnConnections(t *testing.T) {
	ctx := t.Context()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "r.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, seeded, err := db.SeedDemo(ctx, ""); err != nil || !seeded {
		t.Fatalf("SeedDemo: %v, %v", seeded, err)
	}
	for _, stmt := range []string{
		`INSERT OR REPLACE INTO batches SELECT id, bucket_id, 'ARCHIVED', type, object_ids, collection_ids,
			error, error_summary, task_id, metadata, current_tier, total_tiers, created_at, updated_at,
			replace(doc, '"status":"' || status || '"', '"status":"ARCHIVED"')
		FROM batches WHERE status = 'COMPLETED'`,
		`UPDATE OR REPLACE batches
		SET id = (SELECT min(id) FROM batches WHERE status = 'ARCHIVED'),
			doc = replace(doc, '"batch_id":"' || id || '"', '"batch_id":"' || (SELECT min(id) FROM batches WHERE status = 'ARCHIVED') || '"')
		WHERE id = (SELECT min(id) FROM batches WHERE status = 'PENDING')`,
	} {
		if _, err := db.write.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
		var wrong int
		if err := db.write.QueryRowContext(ctx, `
			SELECT count(*) FROM batch_counts AS c FULL JOIN
				(SELECT bucket_id, status, count(*) AS n FROM batches GROUP BY bucket_id, status) AS b
				ON b.bucket_id = c.bucket_id AND b.status = c.status
			WHERE ifnull(c.n, 0) <> ifnull(b.n, 0)`).Scan(&wrong); err != nil {
			t.Fatal(err)
		}
		if wrong != 0 {
			t.Fatalf("after %s: batch_counts and COUNT(*) differ on %d (bucket, status)", stmt, wrong)
		}
	}
}
