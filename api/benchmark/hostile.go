package benchmark

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/mixpeekgo/batches"
	"github.com/mixpeekgo/batches/api/domain"
)

// HostileBodies are the request bodies of row 1 of the hostile-clients
// issue: authenticated List Batches bodies under the 1 MiB limit whose
// generic decoding used to cost 30 to 90 MB each. By name:
//
//   - "ints": an 800 KB JSON array of integers (not an object);
//   - "unknown": {"limit":10,"x":[…100,000 integers…]}, an unknown field;
//   - "nested": 9,999 nested arrays (20 KB).
//
// The load run (batchesbench hostile) sends them; BenchmarkHostileBody
// measures what one costs in process.
func HostileBodies() map[string][]byte {
	return map[string][]byte{
		"ints":    intArray(800_000),
		"unknown": append(append([]byte(`{"limit":10,"x":`), intsOf(100_000)...), '}'),
		"nested":  []byte(strings.Repeat("[", 9999) + strings.Repeat("]", 9999)),
	}
}

// LargeScalarBodies are List Batches bodies whose one value is a large
// scalar, each 1,000,000 bytes (under the 1 MiB limit), which
// kin-openapi's errors used to copy many times over (SchemaError.Error
// JSON-indents the value into each error of a oneOf): by name,
//
//   - "status": {"status":"<a string of 1 MB>"} (a oneOf of the
//     statuses and null);
//   - "limit": {"limit":<1 MB of digits>};
//   - "string": a body that is one string of 1 MB.
//
// The load run sends them (row 4); BenchmarkHostileBody measures what one
// costs in process.
func LargeScalarBodies() map[string][]byte {
	const size = 1_000_000
	return map[string][]byte{
		"status": []byte(`{"status":"` + strings.Repeat("s", size-len(`{"status":""}`)) + `"}`),
		"limit":  []byte(`{"limit":` + strings.Repeat("9", size-len(`{"limit":}`)) + `}`),
		"string": []byte(`"` + strings.Repeat("s", size-2) + `"`),
	}
}

// intArray is a JSON array of integers of about n bytes.
func intArray(n int) []byte {
	b := make([]byte, 0, n+16)
	b = append(b, '[')
	for i := 100000; len(b) < n-8; i++ {
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(i), 10)
	}
	return append(b, ']')
}

// intsOf is a JSON array of n integers.
func intsOf(n int) []byte {
	b := []byte{'['}
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(i), 10)
	}
	return append(b, ']')
}

// LargestBatch is a batch of nearly domain.MaxBatchBytes of JSON (about
// 32,600 bytes), its fields near their limits: an error of 8 KiB less 100
// bytes, a task_id of 205 bytes, 342 object ids, 16 KiB less 200 bytes of
// metadata. A page of 1000 of them is about 32 MiB, the largest a page can
// be.
func LargestBatch(id string, at time.Time) domain.Batch {
	errText := strings.Repeat("e", domain.MaxErrorBytes-100)
	task := "task_" + strings.Repeat("t", 200)
	ids := make([]string, 342)
	for i := range ids {
		ids[i] = fmt.Sprintf("obj_%016d", i)
	}
	pad := domain.MaxMetadataBytes - 200
	b := domain.Batch{BatchID: id, Status: batches.TaskStatusFailed, Type: batches.BatchTypeBucket, TotalTiers: 1,
		CreatedAt: at, UpdatedAt: at, Error: &errText, TaskID: &task, ObjectIDs: ids,
		Metadata: map[string]any{"pad": strings.Repeat("m", pad)}}
	doc, err := domain.BatchJSON(domain.AsListed("bkt_limits", b))
	if err != nil {
		panic(err) // strings of ASCII letters and digits
	}
	if over := len(doc) - (domain.MaxBatchBytes - 100); over > 0 {
		b.Metadata = map[string]any{"pad": strings.Repeat("m", pad-over)}
	}
	return b
}
