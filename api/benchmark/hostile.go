package benchmark

import (
	"strconv"
	"strings"
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
