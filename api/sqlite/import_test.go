package sqlite_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/mixpeekgo/batches/api"
	"github.com/mixpeekgo/batches/api/domain"
	"github.com/mixpeekgo/batches/api/internal/storetest"
)

// goodLines are three batches as the List endpoint returns them, newest
// first, with nanoseconds, every nullable field both null and set, and
// metadata numbers that float64 cannot hold.
var goodLines = []string{
	`{"batch_id":"btch_c00000000003","bucket_id":"bkt_elsewhere","collection_ids":["col_products01","col_x"],"created_at":"2025-06-03T12:00:00.123456789Z","current_tier":2,"error":null,"error_summary":{"timeout":2,"unsupported_format":1},"metadata":{"big":12345678901234567890,"nested":{"list":[1,2.5,"x",null,true]},"source":"s3-sync"},"object_ids":["obj_7h3k9m2p4q8r","obj_2w5x8z1c4v7b","obj_5n8m1k4j7h0g"],"status":"COMPLETED_WITH_ERRORS","task_id":"task_9f8e7d6c5b4a","total_tiers":3,"type":"COLLECTION","updated_at":"2025-06-03T12:04:31.000000001Z"}`,
	`{"batch_id":"btch_b00000000002","bucket_id":"bkt_demo","collection_ids":null,"created_at":"2025-06-02T00:00:00Z","current_tier":null,"error":"extractor timed out after 300s","error_summary":null,"metadata":{},"object_ids":[],"status":"FAILED","task_id":null,"total_tiers":1,"type":"BUCKET","updated_at":"2025-06-02T00:00:01.5Z"}`,
	`{"batch_id":"btch_a00000000001","bucket_id":"bkt_demo","collection_ids":[],"created_at":"2025-06-01T12:00:00.000000999Z","current_tier":null,"error":null,"error_summary":{},"metadata":{"source":"nightly-import"},"object_ids":["obj_1"],"status":"DRAFT","task_id":null,"total_tiers":1,"type":"BUCKET","updated_at":"2025-06-01T12:00:00.000000999Z"}`,
}

// expected returns line with bucket_id replaced, as listed: with every
// field of the contract, those it leaves out of Mixpeek's fields (which the
// contract gained in 2.0.0) null, and tier_tasks [].
func expected(t *testing.T, line, bucketID string) string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(line))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	m["bucket_id"] = bucketID
	for _, k := range []string{"manifest_key", "loaded_object_ids", "internal_metadata", "dag_tiers"} {
		if _, ok := m[k]; !ok {
			m[k] = nil
		}
	}
	if _, ok := m["tier_tasks"]; !ok {
		m["tier_tasks"] = []any{}
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// canonical re-encodes a JSON value with sorted keys.
func canonical(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return expected(t, string(b), "-")
}

func TestImportRoundTrip(t *testing.T) {
	db, _ := openTemp(t)
	ctx := t.Context()
	a := newTenant(t, db, "Acme", "production", "main")

	// Blank lines, CRLF endings, a byte order mark and a 2 MiB line (its
	// bulk in a field the contract does not know: a batch itself is at
	// most domain.MaxBatchBytes).
	long := `{"batch_id":"btch_long","bucket_id":"x","collection_ids":null,"created_at":"2025-05-01T00:00:00Z","current_tier":null,"error":null,"error_summary":null,"metadata":{},"blob":"` +
		strings.Repeat("a", 2<<20) + `","object_ids":[],"status":"ARCHIVED","task_id":null,"total_tiers":1,"type":"BUCKET","updated_at":"2025-05-01T00:00:00Z"}`
	input := "\ufeff" + goodLines[0] + "\r\n\n   \n" + goodLines[1] + "\n" + goodLines[2] + "\r\n" + long // no final newline
	n, err := db.ImportBatches(ctx, a.b.ID, strings.NewReader(input), api.BatchSchema())
	if err != nil || n != 4 {
		t.Fatalf("ImportBatches = %d, %v; want 4", n, err)
	}
	page, total, err := storetest.ListPage(ctx, db, domain.ListParams{BucketID: a.b.ID, Limit: 3})
	if err != nil || total != 4 || len(page) != 3 {
		t.Fatalf("ListBatches: %d of %d, %v", len(page), total, err)
	}
	for i, b := range page {
		got, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		want := expected(t, goodLines[i], a.b.ID)
		if canonical(t, json.RawMessage(got)) != canonical(t, json.RawMessage(want)) {
			t.Errorf("batch %d:\n got %s\nwant %s", i, got, want)
		}
	}
	if page[0].CreatedAt.Nanosecond() != 123456789 || page[0].UpdatedAt.Nanosecond() != 1 {
		t.Errorf("nanoseconds lost: %v %v", page[0].CreatedAt, page[0].UpdatedAt)
	}
}

func TestImportBadLineImportsNothing(t *testing.T) {
	replace := func(old, new string) string { return strings.Replace(goodLines[2], old, new, 1) }
	for name, bad := range map[string]string{
		"unknown status":        replace(`"status":"DRAFT"`, `"status":"DONE"`),
		"missing batch_id":      replace(`"batch_id":"btch_a00000000001",`, ``),
		"trailing garbage":      goodLines[2] + ` garbage`,
		"two objects":           goodLines[2] + goodLines[2],
		"not an object":         `["btch_a00000000001"]`,
		"not JSON":              `{"batch_id":`,
		"bad timestamp":         replace(`"2025-06-01T12:00:00.000000999Z"`, `"yesterday"`),
		"total_tiers zero":      replace(`"total_tiers":1`, `"total_tiers":0`),
		"fractional tier":       replace(`"total_tiers":1`, `"total_tiers":1.5`),
		"string object id":      replace(`"object_ids":["obj_1"]`, `"object_ids":"obj_1"`),
		"null object_ids":       replace(`"object_ids":["obj_1"]`, `"object_ids":null`),
		"unknown type":          replace(`"type":"BUCKET"`, `"type":"FOLDER"`),
		"error_summary float":   replace(`"error_summary":{}`, `"error_summary":{"timeout":0.5}`),
		"duplicate in file":     goodLines[0],
		"number beyond float64": replace(`"total_tiers":1`, `"total_tiers":1,"metadata":{"x":1e400}`),
		"invalid UTF-8":         replace(`"status":"DRAFT"`, "\"status\":\"DRAFT\",\"error\":\"\xff\""),
		"batch_id with a slash": replace(`"batch_id":"btch_a00000000001"`, `"batch_id":"btch/a"`),
		"batch_id dot-dot":      replace(`"batch_id":"btch_a00000000001"`, `"batch_id":".."`),
	} {
		t.Run(name, func(t *testing.T) {
			db, _ := openTemp(t)
			a := newTenant(t, db, "Acme", "production", "main")
			input := goodLines[0] + "\n" + goodLines[1] + "\n" + bad + "\n" + goodLines[2] + "\n"
			n, err := db.ImportBatches(t.Context(), a.b.ID, strings.NewReader(input), api.BatchSchema())
			if err == nil {
				t.Fatalf("ImportBatches succeeded (%d)", n)
			}
			if n != 0 || !strings.Contains(err.Error(), "line 3: ") {
				t.Errorf("ImportBatches = %d, %v; want 0 and an error naming line 3", n, err)
			}
			var le *domain.LineError
			if !errors.As(err, &le) || le.Line != 3 {
				t.Errorf("error %v is not a LineError of line 3", err)
			}
			if _, total, _ := storetest.ListPage(t.Context(), db, domain.ListParams{BucketID: a.b.ID, Limit: 10}); total != 0 {
				t.Errorf("%d batches imported", total)
			}
			t.Log(err)
		})
	}
}

func TestImportDuplicatesAndUnknownBucket(t *testing.T) {
	db, _ := openTemp(t)
	ctx := t.Context()
	a := newTenant(t, db, "Acme", "production", "main")
	b := newTenant(t, db, "Other", "production", "main")

	if n, err := db.ImportBatches(ctx, a.b.ID, strings.NewReader(goodLines[1]+"\n"), api.BatchSchema()); err != nil || n != 1 {
		t.Fatalf("first import: %d, %v", n, err)
	}
	// Already in the database, in this bucket or another.
	for _, bucket := range []string{a.b.ID, b.b.ID} {
		input := goodLines[0] + "\n\n" + goodLines[1] + "\n"
		n, err := db.ImportBatches(ctx, bucket, strings.NewReader(input), api.BatchSchema())
		if n != 0 || !errors.Is(err, domain.ErrAlreadyExists) || !strings.Contains(err.Error(), "line 3: ") {
			t.Errorf("import into %s of an existing id: %d, %v", bucket, n, err)
		}
	}
	for _, bucket := range []string{a.b.ID, b.b.ID} {
		if _, total, _ := storetest.ListPage(ctx, db, domain.ListParams{BucketID: bucket, Limit: 10}); total != map[string]int64{a.b.ID: 1, b.b.ID: 0}[bucket] {
			t.Errorf("bucket %s: %d batches after failed imports", bucket, total)
		}
	}
	// Repeated within the file.
	n, err := db.ImportBatches(ctx, b.b.ID, strings.NewReader(goodLines[0]+"\n"+goodLines[2]+"\n"+goodLines[0]+"\n"), api.BatchSchema())
	if n != 0 || !errors.Is(err, domain.ErrAlreadyExists) || !strings.Contains(err.Error(), "line 3: ") {
		t.Errorf("repeated id: %d, %v", n, err)
	}
	// Unknown bucket.
	n, err = db.ImportBatches(ctx, "bkt_nonexistent", strings.NewReader(goodLines[0]+"\n"), api.BatchSchema())
	if n != 0 || !errors.Is(err, domain.ErrNotFound) || !strings.Contains(err.Error(), "bkt_nonexistent") {
		t.Errorf("unknown bucket: %d, %v", n, err)
	}
	// Empty input.
	if n, err := db.ImportBatches(ctx, b.b.ID, bytes.NewReader(nil), api.BatchSchema()); n != 0 || err != nil {
		t.Errorf("empty input: %d, %v", n, err)
	}
}

func TestImportOverlongLine(t *testing.T) {
	db, _ := openTemp(t)
	a := newTenant(t, db, "Acme", "production", "main")
	input := goodLines[0] + "\n" + strings.Repeat("x", domain.MaxImportLine+10) + "\n"
	n, err := db.ImportBatches(t.Context(), a.b.ID, strings.NewReader(input), api.BatchSchema())
	if n != 0 || !errors.Is(err, domain.ErrInvalid) || !strings.Contains(err.Error(), "line 2: ") {
		t.Errorf("overlong line: %d, %v", n, err)
	}
}

// TestImportDefaults imports a batch as Mixpeek may export it: fields its
// serializer left out get BatchModel's defaults, and so do those its tier
// tasks, their extractor jobs and errors leave out (TierTaskInfo's,
// ExtractorJobInfo's, BatchErrorDetail's); whole numbers written 1.0 are
// integers; fields the contract does not know, at the top or nested, are
// ignored.
func TestImportDefaults(t *testing.T) {
	db, _ := openTemp(t)
	ctx := t.Context()
	a := newTenant(t, db, "Acme", "production", "main")
	line := `{"batch_id":"btch_sparse00001","created_at":"2025-05-01T00:00:00Z","updated_at":"2025-05-01T00:00:01Z","total_tiers":1.0,` +
		`"tier_tasks":[{"tier_num":0.0,"source_type":"bucket","huge":1e300,"extractor_jobs":[{"extractor_type":"image_extractor","errors":[{"error_type":"network","message":"timed out","newer":1}]}]}],` +
		`"manifest_key":"ns/x/manifests/tier_0.parquet","newer_field":{"x":1}}`
	if n, err := db.ImportBatches(ctx, a.b.ID, strings.NewReader(line), api.BatchSchema()); err != nil || n != 1 {
		t.Fatalf("ImportBatches = %d, %v; want 1", n, err)
	}
	page, _, err := storetest.ListPage(ctx, db, domain.ListParams{BucketID: a.b.ID, Limit: 1})
	if err != nil || len(page) != 1 {
		t.Fatalf("ListBatches: %v, %v", page, err)
	}
	got, _ := json.Marshal(page[0])
	want := `{"batch_id":"btch_sparse00001","bucket_id":"` + a.b.ID + `","collection_ids":null,"created_at":"2025-05-01T00:00:00Z",` +
		`"current_tier":null,"dag_tiers":null,"error":null,"error_summary":null,"internal_metadata":null,"loaded_object_ids":null,` +
		`"manifest_key":"ns/x/manifests/tier_0.parquet","metadata":{},"object_ids":[],"status":"DRAFT","task_id":null,` +
		`"tier_tasks":[{"celery_task_id":null,"completed_at":null,"documents_after_source_filter":null,"documents_missing_input_fields":null,` +
		`"documents_submitted_to_engine":null,"documents_written":null,"duration_ms":null,"error_summary":null,"errors":[],` +
		`"extractor_jobs":[{"celery_task_id":null,"completed_at":null,"documents_written":null,"duration_ms":null,"error":null,` +
		`"errors":[{"affected_count":1,"affected_document_ids":[],"component":null,"error_type":"network","message":"timed out",` +
		`"metadata":{},"recovery_suggestion":null,"stage":null,"traceback":null}],"extractor_type":"image_extractor","ray_job_id":null,` +
		`"started_at":null,"status":"PENDING"}],"parent_task_id":null,"performance":null,"ray_job_id":null,"source_collection_ids":null,` +
		`"source_documents_fetched":null,"source_type":"bucket","started_at":null,"status":"PENDING","task_id":null,"tier_num":0}],` +
		`"total_tiers":1,"type":"BUCKET","updated_at":"2025-05-01T00:00:01Z"}`
	if string(got) != want {
		t.Errorf("imported\n%s\nwant\n%s", got, want)
	}
	// A tier task without source_type (required, as in Mixpeek's schema)
	// is refused.
	bad := `{"batch_id":"btch_sparse00002","created_at":"2025-05-01T00:00:00Z","updated_at":"2025-05-01T00:00:01Z","tier_tasks":[{"tier_num":0}]}`
	if n, err := db.ImportBatches(ctx, a.b.ID, strings.NewReader(bad), api.BatchSchema()); n != 0 || !errors.Is(err, domain.ErrInvalid) || !strings.Contains(err.Error(), "source_type") {
		t.Errorf("a tier task without source_type: %d, %v", n, err)
	}
}
