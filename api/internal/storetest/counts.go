package storetest

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mixpeekgo/batches"
	"github.com/mixpeekgo/batches/api"
	"github.com/mixpeekgo/batches/api/domain"
)

// testCountsFollowEveryWrite applies a seeded random mix of inserts,
// imports, status changes and deletes, some of them failing (which must
// change nothing), across buckets of two organizations: first one writer,
// checking after each step that batch_counts (and batch_collection_counts,
// for every collection of the batches) holds what COUNT(*) ... GROUP BY
// counts and what the writes made, that total_count says the same, and
// that each batch's doc is what BatchJSON makes of it with the status and
// updated_at of its columns; then four writers at once, checked the same
// way when they are done; then writes in SQL that no method makes (bulk
// status changes, a move between buckets, updates of other columns, bulk
// deletes), after each of which batch_counts must still match COUNT(*)
// and every doc its row's status and bucket; the writes that would leave
// docs stale or empty are refused, and change nothing.
func testCountsFollowEveryWrite(t *testing.T, be Backend) {
	db, raw := be.OpenSQL(t)
	ctx := t.Context()
	var buckets []string
	for i, org := range []string{"Acme", "Globex"} {
		o, err := db.CreateOrganization(ctx, org)
		if err != nil {
			t.Fatal(err)
		}
		ns, err := db.CreateNamespace(ctx, o.ID, "production")
		if err != nil {
			t.Fatal(err)
		}
		for j, name := range []string{"main", "archive"} {
			b, err := db.CreateBucket(ctx, ns.ID, name, fmt.Sprintf("bkt_c%d", 2*i+j+1))
			if err != nil {
				t.Fatal(err)
			}
			buckets = append(buckets, b.ID)
		}
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	c := countsCheck{t: t, db: db, raw: raw, buckets: buckets, be: be}

	w := newCountsWriter(db, rand.New(rand.NewPCG(seed, 0)), "s", buckets)
	for step := range 160 {
		if err := w.step(t); err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		c.check(fmt.Sprintf("step %d", step), step, w.stored)
	}
	for op, n := range w.ops {
		if n < 8 {
			t.Errorf("%s ran %d times only: the mix does not exercise it", opNames[op], n)
		}
	}

	writers := []*countsWriter{w}
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		w := newCountsWriter(db, rand.New(rand.NewPCG(seed, uint64(i+1))), fmt.Sprintf("w%d", i), buckets)
		writers = append(writers, w)
		wg.Go(func() {
			for step := range 40 {
				if err := w.step(t); err != nil {
					errs[i] = fmt.Errorf("writer %d, step %d: %w", i, step, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	all := map[string]storedBatch{}
	for _, w := range writers {
		maps.Copy(all, w.stored)
	}
	c.check("after the concurrent writers", 0, all)

	// Writes the methods do not make, in SQL: the counts follow them
	// all, and the docs follow those that rewrite them (a status or a
	// bucket is one string of the doc to replace), while the database
	// refuses those that would leave a doc stale or empty, changing
	// nothing.
	last := `DELETE FROM batches`
	if be.Name == Postgres.Name {
		last = `TRUNCATE batches` // PostgreSQL's own bulk delete, with a trigger of its own
	}
	const (
		stale = "batches.doc must change with the batch"
		empty = "batches.doc is empty"
	)
	// What an older batchesd, which writes no doc, inserts: SQLite would
	// take the column's default, '', and PostgreSQL has none.
	noDoc := empty
	if be.Name == Postgres.Name {
		noDoc = `null value in column "doc"`
	}
	// A refused statement must match rows to be refused: bkt_c2 (after the
	// move below, its PENDING batches) and bkt_c3 get one batch each,
	// whatever the random writes left there.
	at := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	for _, bk := range []string{"bkt_c2", "bkt_c3"} {
		if err := db.InsertBatches(ctx, bk, []domain.Batch{{BatchID: "btch_sure_" + bk, Status: batches.TaskStatusPending,
			Type: batches.BatchTypeBucket, TotalTiers: 1, CreatedAt: at, UpdatedAt: at}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct{ stmt, refused string }{
		{`UPDATE batches SET status = 'ARCHIVED',
			doc = replace(doc, '"status":"' || status || '"', '"status":"ARCHIVED"')
			WHERE bucket_id = 'bkt_c1' AND status IN ('COMPLETED', 'FAILED')`, ""},
		{`UPDATE batches SET status = 'ARCHIVED' WHERE bucket_id = 'bkt_c3'`, stale},
		{`UPDATE batches SET bucket_id = 'bkt_c4', status = 'DRAFT',
			doc = replace(replace(doc, '"bucket_id":"bkt_c2"', '"bucket_id":"bkt_c4"'), '"status":"' || status || '"', '"status":"DRAFT"')
			WHERE bucket_id = 'bkt_c2' AND status <> 'PENDING'`, ""},
		// bkt_c2's batches, wherever the statement before left them
		// (when none of them was PENDING, bkt_c2 has none left).
		{`UPDATE batches SET bucket_id = 'bkt_c1' WHERE bucket_id IN ('bkt_c2', 'bkt_c4')`, stale},
		{`UPDATE batches SET metadata = '{"x":1}', updated_at = updated_at + 1`, stale},
		{`UPDATE batches SET doc = '' WHERE bucket_id = 'bkt_c1'`, empty},
		{`INSERT INTO batches (id, bucket_id, status, type, created_at, updated_at, doc)
			VALUES ('btch_raw', 'bkt_c1', 'PENDING', 'BUCKET', 1, 1, '')`, empty},
		{`INSERT INTO batches (id, bucket_id, status, type, created_at, updated_at)
			VALUES ('btch_raw', 'bkt_c1', 'PENDING', 'BUCKET', 1, 1)`, noDoc},
		{`UPDATE batches SET status = status`, ""},
		{`DELETE FROM batches WHERE bucket_id = 'bkt_c4' AND status = 'DRAFT'`, ""},
		{last, ""},
	} {
		before, _ := c.counts()
		_, err := raw.ExecContext(ctx, tc.stmt)
		switch {
		case tc.refused == "" && err != nil:
			t.Fatalf("%s: %v", tc.stmt, err)
		case tc.refused != "" && (err == nil || !strings.Contains(err.Error(), tc.refused)):
			t.Fatalf("%s: error %v, want one saying %q", tc.stmt, err, tc.refused)
		}
		kept, counted := c.counts()
		if !maps.Equal(kept, counted) {
			t.Fatalf("after %s: counts %v, COUNT(*) %v", tc.stmt, kept, counted)
		}
		if tc.refused != "" && !maps.Equal(kept, before) {
			t.Fatalf("the refused %s changed batch_counts from %v to %v", tc.stmt, before, kept)
		}
		c.docsAgree(tc.stmt)
	}
	if kept, _ := c.counts(); len(kept) != 0 {
		t.Errorf("after %s: counts %v", last, kept)
	}
}

// opNames name the kinds of step of countsWriter, the indexes of its ops.
var opNames = [...]string{"insert", "import", "status change", "delete", "failing write"}

// storedBatch is a batch a countsWriter stored, as listed, and the earliest
// its updated_at may be once its status was set (zero: it is the batch's
// own).
type storedBatch struct {
	batch        domain.Batch
	updatedAfter time.Time
}

// countsWriter makes random writes on batches of its own (ids with its
// prefix) in the shared buckets, and keeps what it stored.
type countsWriter struct {
	db      domain.DB
	rng     *rand.Rand
	prefix  string
	buckets []string
	next    int
	stored  map[string]storedBatch
	live    []string // the ids of stored, in the order stored
	ops     [len(opNames)]int
}

func newCountsWriter(db domain.DB, rng *rand.Rand, prefix string, buckets []string) *countsWriter {
	return &countsWriter{db: db, rng: rng, prefix: prefix, buckets: buckets, stored: map[string]storedBatch{}}
}

func (w *countsWriter) newBatch() domain.Batch {
	w.next++
	created := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(w.rng.IntN(1e6)) * time.Second)
	if w.rng.IntN(8) == 0 {
		created = created.AddDate(200, 0, 0) // after any updated_at a status change sets
	}
	statuses := batches.TaskStatuses()
	// No collection, none, one, two, or one twice.
	var collections []string
	switch w.rng.IntN(8) {
	case 0, 1:
	case 2:
		collections = []string{}
	case 3:
		c := countsCollections[w.rng.IntN(len(countsCollections))]
		collections = []string{c, c}
	default:
		collections = []string{countsCollections[w.rng.IntN(len(countsCollections))]}
		if w.rng.IntN(2) == 0 {
			if c := countsCollections[w.rng.IntN(len(countsCollections))]; c != collections[0] {
				collections = append(collections, c)
			}
		}
	}
	return domain.Batch{
		BatchID: fmt.Sprintf("btch_%s%06d", w.prefix, w.next), Status: statuses[w.rng.IntN(len(statuses))],
		Type: batches.BatchTypeBucket, TotalTiers: 1, ObjectIDs: []string{"obj_1"}, CollectionIDs: collections,
		Metadata:  map[string]any{"step": w.next, "note": "<&>"},
		CreatedAt: created, UpdatedAt: created.Add(time.Duration(w.rng.IntN(1000)) * time.Nanosecond),
	}
}

// countsCollections are the collections of the batches of countsWriter.
var countsCollections = []string{"col_a", "col_b", "col_<c>"}

// pick returns a stored id or, one time in ten or when there is none, an
// id that is not stored.
func (w *countsWriter) pick() string {
	if len(w.live) == 0 || w.rng.IntN(10) == 0 {
		return "btch_" + w.prefix + "unknown"
	}
	return w.live[w.rng.IntN(len(w.live))]
}

func (w *countsWriter) keep(bucket string, batches []domain.Batch) {
	for _, b := range batches {
		w.stored[b.BatchID] = storedBatch{batch: domain.AsListed(bucket, b)}
		w.live = append(w.live, b.BatchID)
	}
}

// step makes one random write and returns an error if the store did not do
// what it should.
func (w *countsWriter) step(t *testing.T) error {
	ctx := t.Context()
	bucket := w.buckets[w.rng.IntN(len(w.buckets))]
	switch op := w.rng.IntN(10); {
	case op < 3: // insert, failing on a stored id one time in six
		batches := make([]domain.Batch, 1+w.rng.IntN(4))
		for i := range batches {
			batches[i] = w.newBatch()
		}
		fail := len(w.live) > 0 && w.rng.IntN(6) == 0
		if fail {
			batches[len(batches)-1].BatchID = w.live[w.rng.IntN(len(w.live))]
		}
		err := w.db.InsertBatches(ctx, bucket, batches)
		if fail {
			w.ops[4]++
			if !errors.Is(err, domain.ErrAlreadyExists) {
				return fmt.Errorf("InsertBatches of a stored id = %v, want ErrAlreadyExists", err)
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("InsertBatches: %w", err)
		}
		w.keep(bucket, batches)
		w.ops[0]++
	case op < 5: // import, failing on an invalid last line one time in six
		var lines []string
		var batches []domain.Batch
		for range 1 + w.rng.IntN(3) {
			b := w.newBatch()
			doc, err := domain.BatchJSON(b)
			if err != nil {
				return err
			}
			batches, lines = append(batches, b), append(lines, string(doc))
		}
		fail := w.rng.IntN(6) == 0
		if fail {
			lines = append(lines, `{"batch_id":"btch_bad","status":"DONE"}`)
		}
		n, err := w.db.ImportBatches(ctx, bucket, strings.NewReader(strings.Join(lines, "\n")), api.BatchSchema())
		if fail {
			w.ops[4]++
			if !errors.Is(err, domain.ErrInvalid) || n != 0 {
				return fmt.Errorf("ImportBatches with an invalid line = %d, %v; want 0, ErrInvalid", n, err)
			}
			return nil
		}
		if err != nil || n != len(batches) {
			return fmt.Errorf("ImportBatches = %d, %v; want %d", n, err, len(batches))
		}
		w.keep(bucket, batches)
		w.ops[1]++
	case op < 8: // status change, to the status the batch has at times
		id := w.pick()
		statuses := batches.TaskStatuses()
		status := statuses[w.rng.IntN(len(statuses))]
		before := time.Now()
		err := w.db.UpdateBatchStatus(ctx, id, status)
		s, ok := w.stored[id]
		if !ok {
			w.ops[4]++
			if !errors.Is(err, domain.ErrNotFound) {
				return fmt.Errorf("UpdateBatchStatus(%s) = %v, want ErrNotFound", id, err)
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("UpdateBatchStatus(%s): %w", id, err)
		}
		s.batch.Status, s.updatedAfter = status, before
		w.stored[id] = s
		w.ops[2]++
	default: // delete
		id := w.pick()
		err := w.db.DeleteBatch(ctx, id)
		if _, ok := w.stored[id]; !ok {
			w.ops[4]++
			if !errors.Is(err, domain.ErrNotFound) {
				return fmt.Errorf("DeleteBatch(%s) = %v, want ErrNotFound", id, err)
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("DeleteBatch(%s): %w", id, err)
		}
		delete(w.stored, id)
		w.live = slices.DeleteFunc(w.live, func(l string) bool { return l == id })
		w.ops[3]++
	}
	return nil
}

// countsCheck compares a database with what its writers stored.
type countsCheck struct {
	t       *testing.T
	db      domain.DB
	raw     *sql.DB
	buckets []string
	be      Backend
}

// countKey is one bucket and status, and collection for a count of the
// batches whose collection_ids hold it ("" for a count of all).
type countKey struct{ bucket, status, collection string }

// counts returns batch_counts and batch_collection_counts without their
// rows of 0, and what COUNT(*) counts; it fails the test on a negative
// count, and unless the sizes batch_counts keeps agree with the docs
// (sizesAgree).
func (c countsCheck) counts() (kept, counted map[countKey]int64) {
	c.t.Helper()
	c.sizesAgree()
	kept, counted = map[countKey]int64{}, map[countKey]int64{}
	read := func(m map[countKey]int64, query string) {
		rows, err := c.raw.QueryContext(c.t.Context(), query)
		if err != nil {
			c.t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var k countKey
			var n int64
			if err := rows.Scan(&k.bucket, &k.status, &k.collection, &n); err != nil {
				c.t.Fatal(err)
			}
			if n < 0 {
				c.t.Fatalf("a count holds %d for %v", n, k)
			}
			if n != 0 {
				m[k] = n
			}
		}
		if err := rows.Err(); err != nil {
			c.t.Fatal(err)
		}
	}
	read(kept, `SELECT bucket_id, status, '', n FROM batch_counts`)
	read(kept, `SELECT bucket_id, status, collection_id, n FROM batch_collection_counts`)
	read(counted, `SELECT bucket_id, status, '', count(*) FROM batches GROUP BY bucket_id, status`)
	if c.be.Name == Postgres.Name {
		read(counted, `SELECT b.bucket_id, b.status, e #>> '{}', count(DISTINCT b.id)
			FROM batches AS b, json_array_elements(b.collection_ids) AS e WHERE json_typeof(e) = 'string' GROUP BY 1, 2, 3`)
	} else {
		read(counted, `SELECT b.bucket_id, b.status, e.value, count(DISTINCT b.id)
			FROM batches AS b, json_each(b.collection_ids) AS e WHERE e.type = 'text' GROUP BY 1, 2, 3`)
	}
	return kept, counted
}

// sizesAgree fails the test unless, for each bucket and status,
// batch_counts.bytes is the sum of the bytes of the docs (0 where no batch
// is left) and batch_counts.max_bytes at least the largest of them, and
// ResolveBucket's sizes of each bucket are their sums and maxima.
func (c countsCheck) sizesAgree() {
	c.t.Helper()
	type sizes struct{ bytes, max int64 }
	read := func(query string) map[countKey]sizes {
		rows, err := c.raw.QueryContext(c.t.Context(), query)
		if err != nil {
			c.t.Fatal(err)
		}
		defer rows.Close()
		m := map[countKey]sizes{}
		for rows.Next() {
			var k countKey
			var s sizes
			if err := rows.Scan(&k.bucket, &k.status, &s.bytes, &s.max); err != nil {
				c.t.Fatal(err)
			}
			m[k] = s
		}
		if err := rows.Err(); err != nil {
			c.t.Fatal(err)
		}
		return m
	}
	kept := read(`SELECT bucket_id, status, bytes, max_bytes FROM batch_counts`)
	docs := read(`SELECT bucket_id, status, CAST(sum(octet_length(doc)) AS bigint), CAST(max(octet_length(doc)) AS bigint) FROM batches GROUP BY bucket_id, status`)
	buckets := map[string]domain.BucketSizes{}
	for k, s := range kept {
		d := docs[k]
		if s.bytes != d.bytes || s.max < d.max {
			c.t.Fatalf("batch_counts of %v keeps %d bytes, at most %d a doc; the docs are %d bytes, at most %d", k, s.bytes, s.max, d.bytes, d.max)
		}
		b := buckets[k.bucket]
		b.DocBytes += s.bytes
		b.MaxDocBytes = max(b.MaxDocBytes, s.max)
		buckets[k.bucket] = b
	}
	for k := range docs {
		if _, ok := kept[k]; !ok {
			c.t.Fatalf("batch_counts has no row of %v", k)
		}
	}
	rows, err := c.raw.QueryContext(c.t.Context(), `SELECT o.id, n.id, b.id FROM buckets AS b
		JOIN namespaces AS n ON n.id = b.namespace_id JOIN organizations AS o ON o.id = n.organization_id`)
	if err != nil {
		c.t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var org, ns, bucket string
		if err := rows.Scan(&org, &ns, &bucket); err != nil {
			c.t.Fatal(err)
		}
		if _, b, err := c.db.ResolveBucket(c.t.Context(), org, ns, bucket); err != nil || b.Sizes != buckets[bucket] {
			c.t.Fatalf("ResolveBucket of %s: sizes %+v, %v; batch_counts holds %+v", bucket, b.Sizes, err, buckets[bucket])
		}
	}
	if err := rows.Err(); err != nil {
		c.t.Fatal(err)
	}
}

// check fails the test unless batch_counts and COUNT(*) both count what
// stored holds, total_count says so for each bucket (every status, and the
// one that turn picks), and every batch's row and doc are stored's.
func (c countsCheck) check(stage string, turn int, stored map[string]storedBatch) {
	c.t.Helper()
	ctx := c.t.Context()
	want := map[countKey]int64{}
	for _, s := range stored {
		want[countKey{s.batch.BucketID, string(s.batch.Status), ""}]++
		seen := map[string]bool{}
		for _, col := range s.batch.CollectionIDs {
			if !seen[col] {
				seen[col] = true
				want[countKey{s.batch.BucketID, string(s.batch.Status), col}]++
			}
		}
	}
	kept, counted := c.counts()
	if !maps.Equal(counted, want) {
		c.t.Fatalf("%s: COUNT(*) %v, want %v", stage, counted, want)
	}
	if !maps.Equal(kept, counted) {
		c.t.Fatalf("%s: counts %v, COUNT(*) %v", stage, kept, counted)
	}

	statuses := batches.TaskStatuses()
	for i, b := range c.buckets {
		status := statuses[(turn+i)%len(statuses)]
		collection := countsCollections[(turn+i)%len(countsCollections)]
		var all, inCollection int64
		for k, n := range want {
			switch {
			case k.bucket == b && k.collection == "":
				all += n
			case k.bucket == b && k.collection == collection:
				inCollection += n
			}
		}
		for _, tc := range []struct {
			status     *batches.TaskStatus
			collection *string
			want       int64
		}{
			{nil, nil, all}, {&status, nil, want[countKey{b, string(status), ""}]},
			{nil, &collection, inCollection}, {&status, &collection, want[countKey{b, string(status), collection}]},
		} {
			p := domain.ListParams{BucketID: b, Status: tc.status, CollectionID: tc.collection, Limit: 1}
			if _, total, err := c.db.ListBatches(ctx, p, nil); err != nil || total != tc.want {
				c.t.Fatalf("%s: total_count of %s, status %v, collection %v: %d, %v; want %d", stage, b, tc.status, tc.collection, total, err, tc.want)
			}
		}
	}

	rows, err := c.raw.QueryContext(ctx, `SELECT id, bucket_id, status, created_at, updated_at, doc FROM batches`)
	if err != nil {
		c.t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var id, bucket, status, doc string
		var created, updated int64
		if err := rows.Scan(&id, &bucket, &status, &created, &updated, &doc); err != nil {
			c.t.Fatal(err)
		}
		n++
		s, ok := stored[id]
		if !ok {
			c.t.Fatalf("%s: %s is stored, and should not be", stage, id)
		}
		b := s.batch
		updatedAt := time.Unix(0, updated).UTC()
		if s.updatedAfter.IsZero() {
			if !updatedAt.Equal(b.UpdatedAt) {
				c.t.Fatalf("%s: %s has updated_at %s, want %s", stage, id, updatedAt, b.UpdatedAt)
			}
		} else if updatedAt.Before(s.updatedAfter) && !updatedAt.Equal(b.CreatedAt) || updatedAt.Before(b.CreatedAt) {
			c.t.Fatalf("%s: %s has updated_at %s; its status was set at %s, and it was created at %s",
				stage, id, updatedAt, s.updatedAfter, b.CreatedAt)
		}
		b.UpdatedAt = updatedAt
		wantDoc, err := domain.BatchJSON(b)
		if err != nil {
			c.t.Fatal(err)
		}
		if bucket != b.BucketID || status != string(b.Status) || created != b.CreatedAt.UnixNano() || doc != string(wantDoc) {
			c.t.Fatalf("%s: %s is stored in %s, %s, created %d, with doc\n%s\nwant %s, %s, created %d, with doc\n%s",
				stage, id, bucket, status, created, doc, b.BucketID, b.Status, b.CreatedAt.UnixNano(), wantDoc)
		}
	}
	if err := rows.Err(); err != nil {
		c.t.Fatal(err)
	}
	if n != len(stored) {
		c.t.Fatalf("%s: %d batches stored, want %d", stage, n, len(stored))
	}
}

// docsAgree fails the test unless every stored doc is a batch, with the
// id, bucket and status of its row.
func (c countsCheck) docsAgree(stage string) {
	c.t.Helper()
	rows, err := c.raw.QueryContext(c.t.Context(), `SELECT id, bucket_id, status, doc FROM batches`)
	if err != nil {
		c.t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, bucket, status, doc string
		if err := rows.Scan(&id, &bucket, &status, &doc); err != nil {
			c.t.Fatal(err)
		}
		var b domain.Batch
		if err := json.Unmarshal([]byte(doc), &b); err != nil {
			c.t.Fatalf("after %s: %s has doc %q: %v", stage, id, doc, err)
		}
		if b.BatchID != id || b.BucketID != bucket || string(b.Status) != status {
			c.t.Fatalf("after %s: %s in %s, %s has doc %s", stage, id, bucket, status, doc)
		}
	}
	if err := rows.Err(); err != nil {
		c.t.Fatal(err)
	}
}

// testCountsFollowUpsertsAndReplaces: writes in SQL that replace rows keep
// batch_counts right: INSERT … ON CONFLICT DO UPDATE on both databases,
// and SQLite's REPLACE conflict resolution (INSERT OR REPLACE, UPDATE OR
// REPLACE), whose implicit delete fires the delete triggers on connections
// with recursive_triggers on, as the store's and OpenSQL's are.
func testCountsFollowUpsertsAndReplaces(t *testing.T, be Backend) {
	db, raw := be.OpenSQL(t)
	ctx := t.Context()
	info, seeded, err := db.SeedDemo(ctx, "")
	if err != nil || !seeded {
		t.Fatalf("SeedDemo: %v, %v", seeded, err)
	}
	c := countsCheck{t: t, db: db, raw: raw, buckets: []string{info.BucketID}, be: be}
	const columns = `id, bucket_id, status, type, object_ids, collection_ids, error, error_summary,
		task_id, metadata, current_tier, total_tiers, created_at, updated_at, doc`
	// Each statement rewrites doc as it changes the batch; doc renders
	// batch_id and status as "batch_id":"…" and "status":"…".
	stmts := []string{
		`INSERT INTO batches (` + columns + `)
		SELECT id, bucket_id, 'ARCHIVED', type, object_ids, collection_ids, error, error_summary,
			task_id, metadata, current_tier, total_tiers, created_at, updated_at,
			replace(doc, '"status":"' || status || '"', '"status":"ARCHIVED"')
		FROM batches WHERE status = 'COMPLETED'
		ON CONFLICT (id) DO UPDATE SET status = excluded.status, doc = excluded.doc`,
	}
	if be.Name == SQLite.Name {
		stmts = append(stmts,
			`INSERT OR REPLACE INTO batches (`+columns+`)
			SELECT id, bucket_id, 'CANCELED', type, object_ids, collection_ids, error, error_summary,
				task_id, metadata, current_tier, total_tiers, created_at, updated_at,
				replace(doc, '"status":"' || status || '"', '"status":"CANCELED"')
			FROM batches WHERE status = 'FAILED'`,
			`REPLACE INTO batches (`+columns+`)
			SELECT id, bucket_id, 'DRAFT', type, object_ids, collection_ids, error, error_summary,
				task_id, metadata, current_tier, total_tiers, created_at, updated_at,
				replace(doc, '"status":"' || status || '"', '"status":"DRAFT"')
			FROM batches WHERE status = 'SKIPPED'`,
			// A batch takes the id of one of another status, which goes.
			`UPDATE OR REPLACE batches
			SET id = (SELECT min(id) FROM batches WHERE status = 'ARCHIVED'),
				doc = replace(doc, '"batch_id":"' || id || '"', '"batch_id":"' || (SELECT min(id) FROM batches WHERE status = 'ARCHIVED') || '"')
			WHERE id = (SELECT min(id) FROM batches WHERE status = 'UNKNOWN')`,
		)
	}
	for _, stmt := range stmts {
		before, _ := c.counts()
		if _, err := raw.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
		kept, counted := c.counts()
		if !maps.Equal(kept, counted) {
			t.Fatalf("after %s: counts %v, COUNT(*) %v", stmt, kept, counted)
		}
		if maps.Equal(kept, before) {
			t.Fatalf("%s changed no count: the demo has no batch it applies to", stmt)
		}
		c.docsAgree(stmt)
	}
}
