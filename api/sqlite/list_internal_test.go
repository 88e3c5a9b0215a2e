package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mixpeekgo/batches"
	"github.com/mixpeekgo/batches/api/domain"
)

// TestListQueryPlan checks the plan of every list statement: the page's
// rows come from the covering index that serves the filter and the order
// (the rows an offset skips are index entries only), the docs by rowid (by
// id with a collection filter), the count from the primary key of
// batch_counts (batch_collection_counts), and nothing is sorted (the order
// of group_concat is the index's).
func TestListQueryPlan(t *testing.T) {
	db, err := Open(t.Context(), filepath.Join(t.TempDir(), "plan.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, tc := range []struct {
		query, filter, index, docs, counts string
	}{
		{listQuery, "", "batches USING COVERING INDEX batches_bucket_created (bucket_id=?)",
			"b USING INTEGER PRIMARY KEY (rowid=?)", "batch_counts USING PRIMARY KEY (bucket_id=?)"},
		{listQuery, " AND status = ?4", "batches USING COVERING INDEX batches_bucket_status_created (bucket_id=? AND status=?)",
			"b USING INTEGER PRIMARY KEY (rowid=?)", "batch_counts USING PRIMARY KEY (bucket_id=? AND status=?)"},
		{collectionListQuery, "", "batch_collections USING PRIMARY KEY (bucket_id=? AND collection_id=?)",
			"b USING INDEX sqlite_autoindex_batches_1 (id=?)", "batch_collection_counts USING PRIMARY KEY (bucket_id=? AND collection_id=?)"},
		{collectionListQuery, " AND status = ?5", "batch_collections USING COVERING INDEX batch_collections_status (bucket_id=? AND collection_id=? AND status=?)",
			"b USING INDEX sqlite_autoindex_batches_1 (id=?)", "batch_collection_counts USING PRIMARY KEY (bucket_id=? AND collection_id=? AND status=?)"},
	} {
		q := fmt.Sprintf(tc.query, tc.filter)
		args := []any{"bkt", 100, 0, "FAILED"}
		if tc.query == collectionListQuery {
			args = []any{"bkt", 100, 0, "col_1", "FAILED"}[:4+strings.Count(tc.filter, "?")]
		}
		rows, err := db.read.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+q, args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
		p := strings.Join(plan, "; ")
		for _, want := range []string{"SEARCH " + tc.index, "SEARCH " + tc.docs, "SEARCH " + tc.counts} {
			if !strings.Contains(p, want) {
				t.Errorf("filter %q: plan %q lacks %q", tc.filter, p, want)
			}
		}
		if strings.Contains(p, "TEMP B-TREE") || strings.Contains(p, "SCAN batch") {
			t.Errorf("filter %q: plan %q sorts or scans the table", tc.filter, p)
		}
	}
}

// variedBatches are batches whose JSON has every kind of value the Batch
// schema allows: metadata numbers of every spelling, unicode, characters
// that JSON escapes for HTML, nulls, nested values, empty and nil
// collections, timestamps in other zones and with nanoseconds.
func variedBatches(bucketID string) []domain.Batch {
	zone := time.FixedZone("CEST", 2*3600)
	created := time.Date(2025, 6, 1, 12, 0, 0, 120000000, zone)
	str := func(s string) *string { return &s }
	n := func(i int) *int { return &i }
	bs := []domain.Batch{
		{
			BatchID: "btch_html", Status: batches.TaskStatusFailed, Type: batches.BatchTypeBucket,
			ObjectIDs: []string{"obj_<a>&b"}, Error: str(`<script>alert("x & y")</script>`),
			ErrorSummary: map[string]int{"a<b": 1, "timeout": 2}, TotalTiers: 1,
			Metadata: map[string]any{
				"html": "<b>bold</b> & more", "quote": `"q" \ back\slash`, "ctl": "tab\tnl\ncr\r\x01",
				"unicode": "héllo wörld — 日本語 🎉", "seps": "line\u2028para\u2029", "fffd": "\ufffd",
				"escaped": `\ufffd`, "null": nil, "bool": true, "list": []any{1.5, "x", nil, false, map[string]any{"z": 1, "a": 2}},
			},
			CreatedAt: created, UpdatedAt: created.Add(time.Nanosecond),
		},
		{
			BatchID: "btch_numbers", Status: batches.TaskStatusCompleted, Type: batches.BatchTypeCollection,
			ObjectIDs: []string{}, CollectionIDs: []string{"col_1", "col_2"}, TaskID: str("task_1"),
			CurrentTier: n(2), TotalTiers: 3,
			Metadata: map[string]any{
				"int": 42, "neg": -7, "float": 1.25, "big": 1e21, "small": 1e-7, "huge": json.Number("12345678901234567890"),
				"exp": json.Number("1E+2"), "zero": 0.0, "maxint": int64(math.MaxInt64),
			},
			CreatedAt: created.Add(time.Hour), UpdatedAt: created.Add(2 * time.Hour),
		},
		{
			// Nil where a store writes an empty value, empty where null
			// is allowed.
			BatchID: "btch_nils", Status: batches.TaskStatusDraft, Type: batches.BatchTypeBucket, TotalTiers: 1,
			CollectionIDs: []string{}, ErrorSummary: map[string]int{},
			CreatedAt: created.Add(-time.Hour).UTC(), UpdatedAt: created.Add(-time.Hour).UTC(),
		},
	}
	return append(bs, domain.DemoBatches(created, bucketID)...)
}

// TestMigrationUpgradesVersion1 opens a database made at version 1 (before
// docs and counts) that holds batches, and whose backfill of docs was cut
// short after a few: the upgrade gives every batch the doc that serves the
// bytes version 1 served (its columns decoded and encoded as the strict
// server did) and the doc new writes get, and counts every bucket's
// batches by status.
func TestMigrationUpgradesVersion1(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "v1.db")
	raw, p := openAtVersion1(t, path, []string{"journal_mode(WAL)", "foreign_keys(1)"}, "immediate")
	for _, stmt := range []string{
		`INSERT INTO buckets VALUES ('bkt_a', 'ns_1', 'a', 0), ('bkt_b', 'ns_1', 'b', 0), ('bkt_empty', 'ns_1', 'c', 0)`,
	} {
		if _, err := raw.ExecContext(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	inputs := map[string][]domain.Batch{"bkt_a": variedBatches("bkt_a"), "bkt_b": domain.DemoBatches(time.Now(), "bkt_b")[:40]}
	for i := range inputs["bkt_b"] {
		inputs["bkt_b"][i].BatchID += "_b"
	}
	for bucket, bs := range inputs {
		for i := range bs {
			args, err := domain.BatchRow(bucket, bs[i])
			if err != nil {
				t.Fatal(err)
			}
			// Version 1 has no doc column.
			if _, err := raw.ExecContext(ctx, `INSERT INTO batches (id, bucket_id, status, type, object_ids, collection_ids, error,
				error_summary, task_id, metadata, current_tier, total_tiers, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args[:len(args)-1]...); err != nil {
				t.Fatal(err)
			}
		}
	}
	// What version 1 served for each batch: the row decoded by scanBatch,
	// encoded by json.Encoder, without the fields the contract gained in
	// 2.0.0 (served); and what the migrations make of it: the same, with
	// those fields null and tier_tasks [] (want).
	served, want := map[string]string{}, map[string]string{}
	withoutNewFields := strings.NewReplacer(`"dag_tiers":null,`, "",
		`"internal_metadata":null,"loaded_object_ids":null,"manifest_key":null,`, "", `"tier_tasks":null,`, "")
	rows, err := raw.QueryContext(ctx, `SELECT `+batchColumns+` FROM batches`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		b, err := scanBatch(rows)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := json.NewEncoder(&buf).Encode(b); err != nil {
			t.Fatal(err)
		}
		served[b.BatchID] = withoutNewFields.Replace(strings.TrimSuffix(buf.String(), "\n"))
		doc, err := domain.BatchJSON(b)
		if err != nil {
			t.Fatal(err)
		}
		want[b.BatchID] = string(doc)
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	// A backfill that was cut short: version 2 applied, a few docs written.
	if _, err := p.UpTo(ctx, 2); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"btch_html", "btch_nils"} {
		if _, err := raw.ExecContext(ctx, `UPDATE batches SET doc = ? WHERE id = ?`, served[id], id); err != nil {
			t.Fatal(err)
		}
	}
	raw.Close()

	db, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open of a version 1 database: %v", err)
	}
	defer db.Close()
	var version int64
	if err := db.read.QueryRowContext(ctx, `SELECT max(version_id) FROM goose_db_version WHERE is_applied`).Scan(&version); err != nil || version != int64(len(migrationVersions(t))) {
		t.Fatalf("version %d, %v; want %d", version, err, len(migrationVersions(t)))
	}
	for bucket, bs := range inputs {
		for _, in := range bs {
			var doc string
			if err := db.read.QueryRowContext(ctx, `SELECT doc FROM batches WHERE id = ?`, in.BatchID).Scan(&doc); err != nil {
				t.Fatal(err)
			}
			if doc != want[in.BatchID] {
				t.Errorf("%s: doc\n%s\nversion 1 served, with the new fields\n%s", in.BatchID, doc, want[in.BatchID])
			}
			in.BucketID = bucket
			// Version 1 had none of them.
			in.DagTiers, in.InternalMetadata, in.LoadedObjectIDs, in.ManifestKey, in.TierTasks = nil, nil, nil, nil, nil
			fresh, err := domain.BatchJSON(in)
			if err != nil {
				t.Fatal(err)
			}
			if doc != string(fresh) {
				t.Errorf("%s: doc\n%s\nBatchJSON of the batch\n%s", in.BatchID, doc, fresh)
			}
		}
	}
	checkCounts(t, db.read)
	for bucket, bs := range inputs {
		_, total, err := db.ListBatches(ctx, domain.ListParams{BucketID: bucket, Limit: 1}, nil)
		if err != nil || total != int64(len(bs)) {
			t.Errorf("%s: total_count %d, %v; want %d", bucket, total, err, len(bs))
		}
	}
}

// checkCounts fails t unless batch_counts holds, for every bucket and
// status, the number of batches COUNT(*) finds (a missing row counting 0).
func checkCounts(t *testing.T, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}) {
	t.Helper()
	read := func(query string) map[[2]string]int64 {
		rows, err := q.QueryContext(t.Context(), query)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		m := map[[2]string]int64{}
		for rows.Next() {
			var k [2]string
			var n int64
			if err := rows.Scan(&k[0], &k[1], &n); err != nil {
				t.Fatal(err)
			}
			if n != 0 {
				m[k] = n
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return m
	}
	counted := read(`SELECT bucket_id, status, count(*) FROM batches GROUP BY bucket_id, status`)
	kept := read(`SELECT bucket_id, status, n FROM batch_counts`)
	if !maps.Equal(counted, kept) {
		t.Fatalf("batch_counts %v, COUNT(*) %v", kept, counted)
	}
	// And batch_collection_counts, for every bucket, collection and
	// status.
	counted = read(`SELECT b.bucket_id || ' ' || c.value, b.status, count(DISTINCT b.id)
		FROM batches AS b, json_each(b.collection_ids) AS c WHERE c.type = 'text' GROUP BY 1, 2`)
	kept = read(`SELECT bucket_id || ' ' || collection_id, status, n FROM batch_collection_counts`)
	if !maps.Equal(counted, kept) {
		t.Fatalf("batch_collection_counts %v, COUNT(*) %v", kept, counted)
	}
}
