package storetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mixpeekgo/batches"
	"github.com/mixpeekgo/batches/api"
	"github.com/mixpeekgo/batches/api/domain"
)

// importLine is a batch of the import format, id and times given.
func importLine(id, created, updated string) string {
	return fmt.Sprintf(`{"batch_id":%q,"created_at":%q,"updated_at":%q,"status":"COMPLETED"}`, id, created, updated)
}

// signalReader is an import's input that closes started at its first Read
// (the import holds its lock then) and reads the rest from a pipe.
type signalReader struct {
	once    sync.Once
	started chan struct{}
	r       io.Reader
}

func (s *signalReader) Read(p []byte) (int, error) {
	s.once.Do(func() { close(s.started) })
	return s.r.Read(p)
}

// testConcurrentImports: two imports into one bucket take turns, the
// second waiting (and saying so) until the first has committed, and both
// are stored; an import whose ctx ends while it waits fails with the
// project's words and stores nothing.
func testConcurrentImports(t *testing.T, be Backend) {
	db := be.Open(t)
	_, b := newBucket(t, db, "bkt_turns")
	ctx := t.Context()

	pr, pw := io.Pipe()
	first := &signalReader{started: make(chan struct{}), r: pr}
	done1 := make(chan error, 1)
	go func() {
		_, err := db.ImportBatches(ctx, b.ID, first, api.BatchSchema())
		done1 <- err
	}()
	<-first.started // the first import holds the lock

	// A third import gives up while it waits.
	waiting3 := make(chan struct{})
	ctx3, cancel3 := context.WithCancel(domain.WithImportWaiting(ctx, func(string) { close(waiting3) }))
	done3 := make(chan error, 1)
	go func() {
		_, err := db.ImportBatches(ctx3, b.ID, strings.NewReader(importLine("btch_third", "2025-01-03T00:00:00Z", "2025-01-03T00:00:00Z")), api.BatchSchema())
		done3 <- err
	}()
	<-waiting3
	cancel3()
	err3 := <-done3
	if !errors.Is(err3, context.Canceled) || !strings.Contains(err3.Error(), "waiting for another import into") || strings.Contains(err3.Error(), "SQLSTATE") {
		t.Errorf("import canceled while waiting = %v, want context.Canceled, in the project's words", err3)
	}

	// What it waits for, in words true of the backend's lock: on SQLite
	// any import into the file (bkt_other's too, below).
	waitingFor := "another import into bucket " + b.ID
	if be.Name == SQLite.Name {
		waitingFor = "another import into this database file (on SQLite, imports into any of its buckets take turns)"
	}
	waiting2 := make(chan struct{})
	ctx2 := domain.WithImportWaiting(ctx, func(what string) {
		if what != waitingFor {
			t.Errorf("the second import waits for %q, want %q", what, waitingFor)
		}
		close(waiting2)
	})
	done2 := make(chan error, 1)
	go func() {
		n, err := db.ImportBatches(ctx2, b.ID, strings.NewReader(importLine("btch_second", "2025-01-02T00:00:00Z", "2025-01-02T00:00:00Z")), api.BatchSchema())
		if err == nil && n != 1 {
			err = fmt.Errorf("imported %d, want 1", n)
		}
		done2 <- err
	}()
	<-waiting2 // the second waits for the first (it said so)

	// An import into another bucket: on SQLite it waits too, and says for
	// what; on PostgreSQL it does not wait.
	_, other := newBucket(t, db, "bkt_other")
	waitingOther := make(chan string, 1)
	doneOther := make(chan error, 1)
	go func() {
		_, err := db.ImportBatches(domain.WithImportWaiting(ctx, func(what string) { waitingOther <- what }), other.ID,
			strings.NewReader(importLine("btch_other", "2025-01-04T00:00:00Z", "2025-01-04T00:00:00Z")), api.BatchSchema())
		doneOther <- err
	}()
	if be.Name == SQLite.Name {
		if what := <-waitingOther; what != waitingFor {
			t.Errorf("the import into another bucket waits for %q, want %q", what, waitingFor)
		}
	} else {
		if err := <-doneOther; err != nil {
			t.Fatalf("the import into another bucket: %v", err)
		}
		select {
		case what := <-waitingOther:
			t.Errorf("the import into another bucket waited for %q", what)
		default:
		}
	}
	if _, err := io.WriteString(pw, importLine("btch_first", "2025-01-01T00:00:00Z", "2025-01-01T00:00:00Z")+"\n"); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	if err := <-done1; err != nil {
		t.Fatalf("first import: %v", err)
	}
	if err := <-done2; err != nil {
		t.Fatalf("second import: %v", err)
	}
	if be.Name == SQLite.Name {
		if err := <-doneOther; err != nil {
			t.Fatalf("the import into another bucket: %v", err)
		}
	}
	if got := batchIDs(t, db, other.ID); got != "btch_other" {
		t.Errorf("the other bucket holds %q", got)
	}
	if got := batchIDs(t, db, b.ID); got != "btch_second btch_first" {
		t.Errorf("bucket holds %q, want the batches of both imports", got)
	}
}

// batchIDs lists the ids of the bucket's first page, space-separated.
func batchIDs(t *testing.T, db domain.DB, bucketID string) string {
	t.Helper()
	page, _, err := ListPage(t.Context(), db, domain.ListParams{BucketID: bucketID, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, b := range page {
		ids = append(ids, b.BatchID)
	}
	return strings.Join(ids, " ")
}

// testImportRefusesWhatItWouldChange: each line that would be stored other
// than it was sent, or breaks a limit, is refused with its line number and
// the field, and nothing of the file is stored.
func testImportRefusesWhatItWouldChange(t *testing.T, be Backend) {
	db := be.Open(t)
	_, b := newBucket(t, db, "bkt_refuse")
	good := importLine("btch_good", "2025-01-01T00:00:00Z", "2025-01-01T00:00:01Z")
	with := func(extra string) string {
		return strings.TrimSuffix(importLine("btch_bad", "2025-01-01T00:00:00Z", "2025-01-01T00:00:00Z"), "}") + "," + extra + "}"
	}
	ids := func(n int) string {
		s := make([]string, n)
		for i := range s {
			s[i] = fmt.Sprintf(`"obj_%d"`, i)
		}
		return "[" + strings.Join(s, ",") + "]"
	}
	keys := func(n int) string {
		s := make([]string, n)
		for i := range s {
			s[i] = fmt.Sprintf(`"k%d":1`, i)
		}
		return "{" + strings.Join(s, ",") + "}"
	}
	for name, tc := range map[string]struct{ line, want string }{
		"lone high surrogate": {with(`"error":"\ud800x"`), `line 2: invalid argument: \ud800 at byte 126 is half of a UTF-16 surrogate pair without the other half, which no UTF-8 text holds (it would be stored as U+FFFD)`},
		"lone low surrogate":  {with(`"metadata":{"k":"a\uDC00"}`), `line 2: invalid argument: \uDC00 at byte 135 is half of a UTF-16 surrogate pair`},
		"reversed pair":       {with(`"task_id":"\udc00\ud800"`), `line 2: invalid argument: \udc00 at byte 128 is half`},
		"updated before created": {importLine("btch_bad", "2025-01-02T00:00:00Z", "2025-01-01T23:59:59.999Z"),
			`line 2: invalid argument: updated_at 2025-01-01T23:59:59.999Z is before created_at 2025-01-02T00:00:00Z`},
		"1 MB task_id":              {with(`"task_id":"` + strings.Repeat("t", 1<<20) + `"`), `line 2: invalid argument: task_id is 1048576 bytes long, more than 256`},
		"15 MB error":               {with(`"error":"` + strings.Repeat("e", 15<<20) + `"`), `line 2: invalid argument: error is 15728640 bytes long, more than 8192`},
		"1,000,000 object_ids":      {with(`"object_ids":` + ids(1_000_000)), `line 2: invalid argument: object_ids has 1000000 items, more than 1000`},
		"a long object id":          {with(`"object_ids":["` + strings.Repeat("o", 300) + `"]`), `line 2: invalid argument: object_ids[0] is 300 bytes long, more than 256`},
		"101 collection_ids":        {with(`"collection_ids":` + ids(101)), `line 2: invalid argument: collection_ids has 101 items, more than 100`},
		"101 error types":           {with(`"error_summary":` + keys(101)), `line 2: invalid argument: error_summary has 101 items, more than 100`},
		"100,000 metadata keys":     {with(`"metadata":` + keys(100_000)), `line 2: invalid argument: metadata is 1088891 bytes of JSON, more than 16384`},
		"metadata 17 deep":          {with(`"metadata":` + strings.Repeat(`{"a":`, 17) + "1" + strings.Repeat("}", 17)), `line 2: invalid argument: metadata is nested 17 deep, more than 16`},
		"1001 loaded_object_ids":    {with(`"loaded_object_ids":` + ids(1001)), `line 2: invalid argument: loaded_object_ids has 1001 items, more than 1000`},
		"a long manifest_key":       {with(`"manifest_key":"` + strings.Repeat("m", 1025) + `"`), `line 2: invalid argument: manifest_key is 1025 bytes long, more than 1024`},
		"33 tier tasks":             {with(`"tier_tasks":[` + strings.TrimSuffix(strings.Repeat(`{"tier_num":0,"source_type":"bucket"},`, 33), ",") + `]`), `line 2: invalid argument: tier_tasks has 33 items, more than 32`},
		"33 dag tiers":              {with(`"dag_tiers":[` + strings.TrimSuffix(strings.Repeat(`["col_a"],`, 33), ",") + `]`), `line 2: invalid argument: dag_tiers has 33 items, more than 32`},
		"internal_metadata 17 deep": {with(`"internal_metadata":` + strings.Repeat(`{"a":`, 17) + "1" + strings.Repeat("}", 17)), `line 2: invalid argument: internal_metadata is nested 17 deep, more than 16`},
		"a performance 9996 deep": {with(`"tier_tasks":[{"tier_num":0,"source_type":"bucket","performance":` + strings.Repeat(`{"a":`, 9996) + "1" + strings.Repeat("}", 9996) + `}]`),
			`line 2: invalid argument: tier_tasks[0].performance is nested 9996 deep, more than 16`},
		"an error's metadata 17 deep": {with(`"tier_tasks":[{"tier_num":0,"source_type":"bucket"},{"tier_num":1,"source_type":"collection","errors":[{"error_type":"runtime","message":"m"},{"error_type":"runtime","message":"m","metadata":` + strings.Repeat(`{"a":[`, 9) + "1" + strings.Repeat("]}", 9) + `}]}]`),
			`line 2: invalid argument: tier_tasks[1].errors[1].metadata is nested 18 deep, more than 16`},
		"an extractor job's error's metadata 17 deep": {with(`"tier_tasks":[{"tier_num":0,"source_type":"bucket","extractor_jobs":[{"extractor_type":"e","errors":[{"error_type":"runtime","message":"m","metadata":` + strings.Repeat(`{"a":`, 17) + "1" + strings.Repeat("}", 17) + `}]}]}]`),
			`line 2: invalid argument: tier_tasks[0].extractor_jobs[0].errors[0].metadata is nested 17 deep, more than 16`},
		"a batch over 32 KiB": {with(`"error":"` + strings.Repeat("e", 8000) + `","metadata":{"a":"` + strings.Repeat("m", 16000) + `"},"object_ids":` + ids(1000)), `line 2: invalid argument: the batch is 34290 bytes of JSON, more than 32768`},
	} {
		t.Run(name, func(t *testing.T) {
			n, err := db.ImportBatches(t.Context(), b.ID, strings.NewReader(good+"\n"+tc.line+"\n"), api.BatchSchema())
			if n != 0 || !errors.Is(err, domain.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ImportBatches = %d, %.300v\nwant 0 and an error with %q", n, err, tc.want)
			}
			if got := batchIDs(t, db, b.ID); got != "" {
				t.Errorf("stored %q", got)
			}
		})
	}
	// Every write checks them, not the import alone.
	deep := map[string]any{"a": 1}
	for range 16 {
		deep = map[string]any{"a": deep}
	}
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	err := db.InsertBatches(t.Context(), b.ID, []domain.Batch{{BatchID: "btch_deep", Status: batches.TaskStatusCompleted, Type: batches.BatchTypeBucket,
		TotalTiers: 1, CreatedAt: at, UpdatedAt: at, TierTasks: []domain.TierTask{{SourceType: "bucket", Status: batches.TaskStatusCompleted, Performance: deep}}}})
	if want := "tier_tasks[0].performance is nested 17 deep, more than 16"; !errors.Is(err, domain.ErrInvalid) || !strings.Contains(err.Error(), want) {
		t.Errorf("InsertBatches of a performance 17 deep: %v; want an error with %q", err, want)
	}
	// A surrogate pair is a character like any other; at the limits, a
	// batch is stored.
	ok := with(`"error":"\ud83d\ude00 ` + strings.Repeat("e", 8000) + `","object_ids":` + ids(1000))
	if n, err := db.ImportBatches(t.Context(), b.ID, strings.NewReader(ok), api.BatchSchema()); err != nil || n != 1 {
		t.Fatalf("ImportBatches of a batch within the limits = %d, %v", n, err)
	}
}
