package api_test

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/mixpeekgo/batches/api/domain"
	"github.com/mixpeekgo/batches/generated/server"
)

// TestImportSchemaIsTheContracts: the import format checks a line against
// the Batch schema without the OpenAPI validator, by hand; on every kind of
// value in every field, alone and in pairs, and with required fields
// missing, it refuses what the validator refuses, with the validator's
// message (as imports said when the validator checked them), and accepts
// what it accepts.
func TestImportSchemaIsTheContracts(t *testing.T) {
	spec, err := server.GetSpec()
	if err != nil {
		t.Fatal(err)
	}
	schema := spec.Components.Schemas["Batch"].Value
	good := map[string]string{
		"batch_id": `"btch_a"`, "bucket_id": `"bkt_a"`, "collection_ids": `["col_1"]`, "created_at": `"2025-06-01T12:00:00Z"`,
		"current_tier": `1`, "error": `null`, "error_summary": `{"timeout":1}`, "metadata": `{"k":"v"}`,
		"object_ids": `["obj_1"]`, "status": `"FAILED"`, "task_id": `"task_1"`, "total_tiers": `2`, "type": `"BUCKET"`,
		"updated_at": `"2025-06-01T12:00:01.5+02:00"`,
	}
	if got, want := slices.Sorted(maps.Keys(good)), slices.Sorted(maps.Keys(schema.Properties)); !slices.Equal(got, want) {
		t.Fatalf("the test's fields %v, the schema's %v", got, want)
	}
	values := []string{
		`null`, `true`, `0`, `1`, `-1`, `1.5`, `2.0`, `""`, `"x"`, `"PENDING"`, `"COLLECTION"`,
		`"2025-06-01T12:00:00Z"`, `"2025-06-01t12:00:00z"`, `"2025-06-01 12:00:00Z"`, `"2025-13-01T12:00:00Z"`,
		`"2025-06-01T12:00:60Z"`, `"2025-06-01T12:00:00.123456789-01:30"`, `"2025-06-01"`,
		`[]`, `["a"]`, `[1]`, `[null]`, `["a",2,null]`, `[[]]`, `{}`, `{"a":1}`, `{"a":null}`, `{"b":"x","a":1.5}`,
		`{"z":1,"a":true}`, `{"a/b":"x"}`, `{"a":1,"b":2}`,
	}
	line := func(fields map[string]string) string {
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(fields)) {
			parts = append(parts, `"`+k+`":`+fields[k])
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	with := func(changes ...string) map[string]string {
		f := maps.Clone(good)
		for i := 0; i < len(changes); i += 2 {
			if changes[i+1] == "" {
				delete(f, changes[i])
			} else {
				f[changes[i]] = changes[i+1]
			}
		}
		return f
	}
	var lines []string
	for _, k := range slices.Sorted(maps.Keys(good)) {
		for _, v := range values {
			lines = append(lines, line(with(k, v)))
		}
	}
	fields := slices.Sorted(maps.Keys(good))
	for i, a := range fields {
		for _, b := range fields[i+1:] {
			for _, v := range []string{`true`, `null`, `"x"`} {
				lines = append(lines, line(with(a, v, b, v)), line(with(a, `[1]`, b, v)))
			}
		}
	}
	for _, missing := range [][]string{{"batch_id"}, {"created_at"}, {"updated_at"}, {"created_at", "batch_id"},
		{"updated_at", "created_at"}} {
		var changes []string
		for _, k := range missing {
			changes = append(changes, k, "")
		}
		lines = append(lines, line(with(changes...)), line(with(append(changes, "total_tiers", "0")...)))
	}

	refused := 0
	for _, l := range lines {
		var obj map[string]any
		dec := json.NewDecoder(strings.NewReader(l))
		dec.UseNumber()
		if err := dec.Decode(&obj); err != nil {
			t.Fatalf("%s: %v", l, err)
		}
		want := schema.VisitJSON(obj, openapi3.DisableSchemaErrorDetails())
		_, _, got := domain.ReadBatches(bytes.NewReader([]byte(l)))
		switch {
		case want != nil:
			refused++
			if w := "line 1: invalid argument: does not match the Batch schema: " + want.Error(); got == nil || got.Error() != w {
				t.Errorf("%s:\n got %v\nwant %s", l, got, w)
			}
		case got != nil && strings.Contains(got.Error(), "Batch schema"):
			t.Errorf("%s: %v; the validator accepts it", l, got)
		}
	}
	if refused < len(lines)/2 {
		t.Errorf("the validator refused %d lines of %d only: the test is not testing", refused, len(lines))
	}
}
