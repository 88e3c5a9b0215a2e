package domain_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/mixpeekgo/batches/api"
	"github.com/mixpeekgo/batches/api/domain"
)

// FuzzReadBatches reads any input as the import format. It never panics;
// an error is a *domain.LineError (or a reading error, which a bytes
// reader has not); every batch it returns passes CheckBatch and has a
// canonical JSON within MaxBatchBytes or an error saying so, and that JSON
// imports again to the very same JSON (nothing is changed on the way).
// The seeds are the hostile-clients issue's cases.
//
//	go test -run '^$' -fuzz '^FuzzReadBatches$' -fuzztime 5m ./api/domain
func FuzzReadBatches(f *testing.F) {
	line := `{"batch_id":"btch_a1","created_at":"2025-01-01T00:00:00Z","updated_at":"2025-01-01T00:00:01Z","status":"FAILED","error":"x","metadata":{"k":[1,2.50,{"a":null}]},"object_ids":["o1"],"collection_ids":["c"],"error_summary":{"t":1},"task_id":"t","current_tier":0,"total_tiers":2,"type":"COLLECTION"}`
	for _, s := range []string{
		line,
		line + "\n" + strings.Replace(line, "btch_a1", "btch_a2", 1),
		strings.Replace(line, `"error":"x"`, `"error":"\ud800x"`, 1),
		strings.Replace(line, `"error":"x"`, `"error":"\ud83d\ude00"`, 1),
		strings.Replace(line, `"updated_at":"2025-01-01T00:00:01Z"`, `"updated_at":"2024-12-31T23:59:59Z"`, 1),
		strings.Replace(line, `"task_id":"t"`, `"task_id":"`+strings.Repeat("t", 300)+`"`, 1),
		strings.Replace(line, `"object_ids":["o1"]`, `"object_ids":[`+strings.Repeat(`"o",`, 1001)+`"o"]`, 1),
		strings.Replace(line, `"metadata":{"k":[1,2.50,{"a":null}]}`, `"metadata":`+strings.Repeat(`{"a":`, 20)+`1`+strings.Repeat(`}`, 20), 1),
		"\ufeff" + line + "\r\n\r\n",
		`{"batch_id":"b","created_at":"2025-01-01T00:00:00Z","updated_at":"2025-01-01T00:00:00Z","tier_tasks":[[[[]]]]}`,
		// Free-form objects of the tier tasks, deep.
		strings.Replace(line, `"type":"COLLECTION"`, `"type":"COLLECTION","tier_tasks":[{"tier_num":0,"source_type":"bucket","performance":`+strings.Repeat(`{"a":`, 500)+`1`+strings.Repeat(`}`, 500)+`}]`, 1),
		strings.Replace(line, `"type":"COLLECTION"`, `"type":"COLLECTION","tier_tasks":[{"tier_num":0,"source_type":"bucket","performance":{"p":1},"errors":[{"error_type":"runtime","message":"m","metadata":`+strings.Repeat(`{"a":[`, 8)+`1`+strings.Repeat(`]}`, 8)+`}],"extractor_jobs":[{"extractor_type":"e","errors":[{"error_type":"network","message":"m","metadata":`+strings.Repeat(`{"b":`, 16)+`2`+strings.Repeat(`}`, 16)+`}]}]}]`, 1),
		`[]`, `{}`, `{"batch_id":1e400}`,
	} {
		f.Add([]byte(s))
	}
	schema := api.BatchSchema()
	f.Fuzz(func(t *testing.T, input []byte) {
		bs, lines, err := domain.ReadBatches(bytes.NewReader(input), schema)
		if err != nil {
			var le *domain.LineError
			if !errors.As(err, &le) {
				t.Fatalf("error %v is not a LineError", err)
			}
			return
		}
		if len(bs) != len(lines) {
			t.Fatalf("%d batches, %d line numbers", len(bs), len(lines))
		}
		for _, b := range bs {
			if err := domain.CheckBatch(&b); err != nil {
				t.Fatalf("a batch read fails CheckBatch: %v", err)
			}
			l := domain.AsListed("bkt_x", b)
			doc, err := domain.BatchJSON(l)
			if err != nil {
				if errors.Is(err, domain.ErrInvalidUTF8) {
					t.Fatalf("a batch read has a string that is not UTF-8: %v", err)
				}
				continue // metadata JSON cannot hold (NaN cannot come from JSON)
			}
			if _, err := domain.BatchRow("bkt_x", b); err != nil {
				if len(doc) <= domain.MaxBatchBytes {
					t.Fatalf("BatchRow: %v", err)
				}
				continue
			}
			again, _, err := domain.ReadBatches(bytes.NewReader(doc), schema)
			if err != nil || len(again) != 1 {
				t.Fatalf("the batch's JSON does not import again: %v\n%s", err, doc)
			}
			doc2, err := domain.BatchJSON(domain.AsListed("bkt_x", again[0]))
			if err != nil || !bytes.Equal(doc, doc2) {
				t.Fatalf("import changed the batch:\n%s\n%s (%v)", doc, doc2, err)
			}
		}
	})
}
