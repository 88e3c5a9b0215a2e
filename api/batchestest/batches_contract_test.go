package batchestest_test

// Moved from the root's contract_test.go: see batches_helpers_test.go.

import (
	"maps"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/mixpeekgo/batches"
)

// loadSpec loads openapi.yaml itself, at the module's root (not the copy
// embedded by go generate).
func loadSpec(t *testing.T) *openapi3.T {
	t.Helper()
	spec, err := openapi3.NewLoader().LoadFromFile(filepath.Join("..", "..", "openapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := spec.Validate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return spec
}

// TestTypesMatchTheContract fails when the package's hand-written types
// drift from openapi.yaml: Batch's fields, the TaskStatus and BatchType
// constants, the statuses the contract calls terminal and active, the poll
// schedule, the list bounds and the error shapes.
func TestTypesMatchTheContract(t *testing.T) {
	spec := loadSpec(t)
	schemas := spec.Components.Schemas

	checkFields(t, "Batch", schemas["Batch"].Value, reflect.TypeFor[batches.Batch]())
	checkFields(t, "TierTaskInfo", schemas["TierTaskInfo"].Value, reflect.TypeFor[batches.TierTask]())
	checkFields(t, "ExtractorJobInfo", schemas["ExtractorJobInfo"].Value, reflect.TypeFor[batches.ExtractorJob]())
	checkFields(t, "BatchErrorDetail", schemas["BatchErrorDetail"].Value, reflect.TypeFor[batches.BatchErrorDetail]())
	checkFields(t, "ValidationError", schemas["ValidationError"].Value, reflect.TypeFor[batches.ValidationError]())
	checkFields(t, "RetryBatchResponse", schemas["RetryBatchResponse"].Value, reflect.TypeFor[batches.RetryResult]())
	checkFields(t, "GenericDeleteResponse", schemas["GenericDeleteResponse"].Value, reflect.TypeFor[batches.DeleteResult]())
	// TaskResponse: inputs and outputs are TaskValue (a string or an
	// object), []any here; the rest as checkFields checks.
	task := *schemas["TaskResponse"].Value
	task.Properties = maps.Clone(task.Properties)
	for p, field := range map[string]string{"inputs": "Inputs", "outputs": "Outputs"} {
		if items := task.Properties[p].Value.Items; items == nil || !strings.HasSuffix(items.Ref, "/TaskValue") {
			t.Errorf("TaskResponse.%s is no longer an array of TaskValue", p)
		}
		if f, ok := reflect.TypeFor[batches.Task]().FieldByName(field); !ok || f.Type != reflect.TypeFor[[]any]() {
			t.Errorf("Task.%s is not []any", p)
		}
		task.Properties[p] = &openapi3.SchemaRef{Value: &openapi3.Schema{Type: &openapi3.Types{"array"}, Nullable: true}}
	}
	checkFields(t, "TaskResponse", &task, reflect.TypeFor[batches.Task]())
	var taskTypes []batches.TaskType
	for _, v := range schemas["TaskType"].Value.Enum {
		taskTypes = append(taskTypes, batches.TaskType(v.(string)))
	}
	for _, tt := range []batches.TaskType{batches.TaskTypeBatchProcess, batches.TaskTypeExtractorRun} {
		if !slices.Contains(taskTypes, tt) {
			t.Errorf("TaskType %q is not in openapi.yaml's enum", tt)
		}
	}
	var modes []batches.RetryMode
	for _, v := range schemas["RetryBatchRequest"].Value.Properties["retry_mode"].Value.AllOf[0].Value.Enum {
		modes = append(modes, batches.RetryMode(v.(string)))
	}
	if !slices.Equal(modes, []batches.RetryMode{batches.RetryTransientOnly, batches.RetryAll}) {
		t.Errorf("retry_mode enum %v", modes)
	}
	if ids := schemas["ObjectIDs"].Value; ids.MinItems != 1 || ids.MaxItems == nil || *ids.MaxItems != batches.MaxObjectIDs ||
		ids.Items.Value.MinLength != 1 || *ids.Items.Value.MaxLength != 256 {
		t.Errorf("ObjectIDs %d..%v items of %d..%v; the client checks 1..%d of 1..256", ids.MinItems, ids.MaxItems, ids.Items.Value.MinLength, ids.Items.Value.MaxLength, batches.MaxObjectIDs)
	}
	if n := schemas["RetryBatchRequest"].Value.Properties["max_retry_count"].Value.AllOf[0].Value; *n.Min != 1 || *n.Max != 10 {
		t.Errorf("max_retry_count %v..%v; the client checks 1..10", *n.Min, *n.Max)
	}
	var categories []batches.ErrorCategory
	for _, v := range schemas["ErrorCategory"].Value.Enum {
		categories = append(categories, batches.ErrorCategory(v.(string)))
	}
	if !slices.Equal(categories, batches.ErrorCategories()) {
		t.Errorf("ErrorCategory enum %v, ErrorCategories() %v", categories, batches.ErrorCategories())
	}

	var enum []batches.TaskStatus
	for _, v := range schemas["TaskStatus"].Value.Enum {
		enum = append(enum, batches.TaskStatus(v.(string)))
	}
	if !slices.Equal(enum, batches.TaskStatuses()) {
		t.Errorf("TaskStatus enum %v, TaskStatuses() %v", enum, batches.TaskStatuses())
	}
	var types []batches.BatchType
	for _, v := range schemas["BatchType"].Value.Enum {
		types = append(types, batches.BatchType(v.(string)))
	}
	if !slices.Equal(types, []batches.BatchType{batches.BatchTypeBucket, batches.BatchTypeCollection}) {
		t.Errorf("BatchType enum %v", types)
	}

	// The rules the contract states in words.
	desc := strings.Join(strings.Fields(schemas["TaskStatus"].Value.Description), " ")
	quoted := regexp.MustCompile("`([A-Z_]+)`")
	statusesIn := func(re string) []batches.TaskStatus {
		m := regexp.MustCompile(re).FindStringSubmatch(desc)
		if m == nil {
			t.Fatalf("the TaskStatus description no longer says %q: %s", re, desc)
		}
		var out []batches.TaskStatus
		for _, q := range quoted.FindAllStringSubmatch(m[1], -1) {
			out = append(out, batches.TaskStatus(q[1]))
		}
		return out
	}
	for _, s := range batches.TaskStatuses() {
		if s.IsTerminal() != slices.Contains(statusesIn(`Terminal statuses never change again: ([^.]*)\.`), s) {
			t.Errorf("%s: IsTerminal %v disagrees with openapi.yaml", s, s.IsTerminal())
		}
		if s.IsActive() != slices.Contains(statusesIn(`while the status is ([^,]*, [^,]*),`), s) {
			t.Errorf("%s: IsActive %v disagrees with openapi.yaml", s, s.IsActive())
		}
	}
	if m := regexp.MustCompile(`starting at (\d+) s and doubling up to (\d+) s`).FindStringSubmatch(desc); m == nil ||
		m[1]+"s" != batches.PollIntervalMin.String() || m[2]+"s" != batches.PollIntervalMax.String() {
		t.Errorf("poll schedule %v, PollIntervalMin %v, PollIntervalMax %v", m, batches.PollIntervalMin, batches.PollIntervalMax)
	}

	req := schemas["ListBatchesRequest"].Value
	if got := slices.Sorted(maps.Keys(req.Properties)); !slices.Equal(got, []string{"collection_id", "limit", "offset", "status"}) {
		t.Errorf("ListBatchesRequest has %v; ListBatchesParams has CollectionID, Limit, Offset and Status", got)
	}
	if c := req.Properties["collection_id"].Value; c.MinLength != 1 || c.MaxLength == nil || *c.MaxLength != 128 || !c.Nullable {
		t.Errorf("collection_id length %d..%v, nullable %v; the client sends 1..128 characters, or nothing", c.MinLength, c.MaxLength, c.Nullable)
	}
	// status admits null next to TaskStatus, for tools that read OpenAPI
	// 3.0 strictly: oneOf TaskStatus or a nullable string whose only value
	// is null.
	if st := req.Properties["status"].Value; len(st.OneOf) != 2 || !strings.HasSuffix(st.OneOf[0].Ref, "/TaskStatus") ||
		!st.OneOf[1].Value.Nullable || len(st.OneOf[1].Value.Enum) != 1 || st.OneOf[1].Value.Enum[0] != nil {
		t.Errorf("ListBatchesRequest.status is not oneOf TaskStatus and null")
	}
	// Their rules are inside allOf (see openapi.yaml: openapi-typescript
	// would make them required).
	limit, offset := req.Properties["limit"].Value.AllOf[0].Value, req.Properties["offset"].Value.AllOf[0].Value
	if *limit.Min != 1 || *limit.Max != batches.MaxLimit || limit.Default != float64(batches.DefaultLimit) || *offset.Min != 0 {
		t.Errorf("limit %v..%v default %v, offset from %v", *limit.Min, *limit.Max, limit.Default, *offset.Min)
	}
	for _, p := range []string{"BucketIdentifier", "XNamespace"} {
		if s := spec.Components.Parameters[p].Value.Schema.Value; s.MinLength != 1 || *s.MaxLength != 128 {
			t.Errorf("%s length %d..%d; the client checks 1..128", p, s.MinLength, *s.MaxLength)
		}
	}

	// What Error reads of the error bodies.
	detail := schemas["ErrorDetail"].Value.Properties
	for _, name := range []string{"message", "type", "details"} {
		if detail[name] == nil {
			t.Errorf("ErrorDetail has no %s", name)
		}
	}
	if schemas["ErrorResponse"].Value.Properties["error"] == nil || schemas["HTTPValidationError"].Value.Properties["detail"] == nil {
		t.Error("ErrorResponse.error or HTTPValidationError.detail is gone")
	}
}

// goNames are the Go names of the package's types whose contract names
// differ.
var goNames = map[string]string{"TierTaskInfo": "TierTask", "ExtractorJobInfo": "ExtractorJob"}

// checkFields compares the properties of schema with the JSON names and Go
// types of typ's exported fields (a $ref by the name of the type, an array
// of them by its element's).
func checkFields(t *testing.T, name string, schema *openapi3.Schema, typ reflect.Type) {
	t.Helper()
	fields := map[string]reflect.StructField{}
	for f := range typ.Fields() {
		if !f.IsExported() {
			continue
		}
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		fields[tag] = f
	}
	if got, want := slices.Sorted(maps.Keys(fields)), slices.Sorted(maps.Keys(schema.Properties)); !slices.Equal(got, want) {
		t.Errorf("%s has fields %v, openapi.yaml %v", name, got, want)
	}
	for prop, ref := range schema.Properties {
		f, ok := fields[prop]
		if !ok {
			continue
		}
		p := ref.Value
		ft := f.Type
		nullable := p.Nullable
		ref := ref.Ref
		if len(p.AllOf) == 1 {
			ref = p.AllOf[0].Ref
		}
		if ref != "" { // a $ref to a named schema
			refName := ref[strings.LastIndex(ref, "/")+1:]
			if alias, ok := goNames[refName]; ok {
				refName = alias
			}
			if ft.Name() != refName || ft.PkgPath() != typ.PkgPath() {
				t.Errorf("%s.%s is %v, openapi.yaml %s", name, prop, ft, refName)
			}
			continue
		}
		// A pointer is nil for null, or for a field the answer may leave
		// out.
		if (nullable || !slices.Contains(schema.Required, prop)) && ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		var ok2 bool
		switch {
		case p.Type.Is("string") && p.Format == "date-time":
			ok2 = ft == reflect.TypeFor[time.Time]()
		case p.Type.Is("string"):
			ok2 = ft.Kind() == reflect.String
		case p.Type.Is("integer"):
			ok2 = ft.Kind() == reflect.Int || ft.Kind() == reflect.Int64
		case p.Type.Is("number"):
			ok2 = ft.Kind() == reflect.Float64
		case p.Type.Is("boolean"):
			ok2 = ft.Kind() == reflect.Bool
		case p.Type.Is("array") && p.Items != nil && p.Items.Ref != "":
			refName := p.Items.Ref[strings.LastIndex(p.Items.Ref, "/")+1:]
			if alias, ok := goNames[refName]; ok {
				refName = alias
			}
			ok2 = ft.Kind() == reflect.Slice && ft.Elem().Name() == refName && ft.Elem().PkgPath() == typ.PkgPath()
		case p.Type.Is("array"):
			ok2 = ft.Kind() == reflect.Slice
		case p.Type.Is("object"):
			ok2 = ft.Kind() == reflect.Map
		case p.Type == nil || len(p.Type.Slice()) == 0: // any JSON value
			ok2 = ft.Kind() == reflect.Interface || ft.Kind() == reflect.Slice
		}
		if !ok2 {
			t.Errorf("%s.%s is %v, openapi.yaml %v %q", name, prop, f.Type, p.Type.Slice(), p.Format)
		}
		if nullable && !slices.Contains([]reflect.Kind{reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface}, f.Type.Kind()) {
			t.Errorf("%s.%s is nullable in openapi.yaml but %v cannot be nil", name, prop, f.Type)
		}
	}
}
