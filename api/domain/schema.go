package domain

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"

	"github.com/mixpeekgo/batches"
)

// The Batch schema of openapi.yaml (components.schemas.Batch), as the
// import format checks it: each property with the check of its value, and
// the required ones. The checks and their messages are those of the
// OpenAPI validator the server validates requests with (kin-openapi, with
// schema error details off), so that an import error reads as it did when
// the validator checked imports; a test of package api compares the two on
// every kind of value.
var (
	batchProperties = map[string]valueCheck{
		"batch_id":       checkString(false),
		"bucket_id":      checkString(false),
		"collection_ids": checkStringArray(true),
		"created_at":     checkDateTime,
		"current_tier":   checkInteger(true, nil),
		"error":          checkString(true),
		"error_summary":  checkIntegerMap(true),
		"metadata":       checkObject(false),
		"object_ids":     checkStringArray(false),
		"status":         checkEnum(batches.TaskStatuses()),
		"task_id":        checkString(true),
		"total_tiers":    checkInteger(false, ptrTo(1.0)),
		"type":           checkEnum([]batches.BatchType{batches.BatchTypeBucket, batches.BatchTypeCollection}),
		"updated_at":     checkDateTime,
	}
	batchRequired = []string{"batch_id", "bucket_id", "status", "object_ids", "collection_ids", "error",
		"error_summary", "type", "task_id", "metadata", "current_tier", "total_tiers", "created_at", "updated_at"}
)

// dateTimePattern is the validator's date-time format: RFC 3339, upper-case
// T and Z.
const dateTimePattern = `^[0-9]{4}-(0[1-9]|10|11|12)-(0[1-9]|[12][0-9]|3[01])T([0-1][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)([0-1][0-9]|2[0-3]):[0-5][0-9])$`

var dateTimeRE = regexp.MustCompile(dateTimePattern)

// schemaError is a value that breaks the schema: `Error at "/path": reason`.
type schemaError struct {
	path   string // "/total_tiers", "/object_ids/2"
	reason string
}

func (e *schemaError) Error() string { return `Error at "` + e.path + `": ` + e.reason }

// at prefixes e's path with the key or index k.
func (e *schemaError) at(k string) *schemaError {
	e.path = "/" + k + e.path
	return e
}

// valueCheck checks one JSON value, decoded with json.Number; nil is
// JSON's null.
type valueCheck func(v any) *schemaError

func fail(reason string) *schemaError { return &schemaError{reason: reason} }

// checkBatchSchema checks obj, a Batch object with its defaults and without
// unknown fields: its properties in the order of their names, then the
// required ones; the first value that breaks the schema is the error.
func checkBatchSchema(obj map[string]any) error {
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		if check := batchProperties[k]; check != nil {
			if err := check(obj[k]); err != nil {
				return err.at(k)
			}
		}
	}
	for _, k := range batchRequired {
		if _, ok := obj[k]; !ok {
			return fail(fmt.Sprintf("property %q is missing", k)).at(k)
		}
	}
	return nil
}

// typed returns the check of a value of JSON type typ (its article
// included: "a string"), null allowed when nullable, whose value, once of
// that type, check checks (nil: any).
func typed[T any](typ string, nullable bool, check func(T) *schemaError) valueCheck {
	return func(v any) *schemaError {
		if v == nil {
			if nullable {
				return nil
			}
			return fail("Value is not nullable")
		}
		t, ok := v.(T)
		if !ok {
			return fail("value must be " + typ)
		}
		if check == nil {
			return nil
		}
		return check(t)
	}
}

func checkString(nullable bool) valueCheck { return typed[string]("a string", nullable, nil) }

func checkObject(nullable bool) valueCheck {
	return typed[map[string]any]("an object", nullable, nil)
}

func checkStringArray(nullable bool) valueCheck {
	item := checkString(false)
	return typed("an array", nullable, func(a []any) *schemaError {
		for i, v := range a {
			if err := item(v); err != nil {
				return err.at(strconv.Itoa(i))
			}
		}
		return nil
	})
}

func checkIntegerMap(nullable bool) valueCheck {
	value := checkInteger(false, nil)
	return typed("an object", nullable, func(m map[string]any) *schemaError {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if err := value(m[k]); err != nil {
				return err.at(k)
			}
		}
		return nil
	})
}

// checkInteger checks a whole number, at least *minimum when minimum is
// not nil. The numbers reaching it are those float64 holds (checkNumbers
// refused the others).
func checkInteger(nullable bool, minimum *float64) valueCheck {
	return typed("an integer", nullable, func(n json.Number) *schemaError {
		f, err := n.Float64()
		if err != nil || f != math.Trunc(f) {
			return fail("value must be an integer")
		}
		if minimum != nil && f < *minimum {
			return fail(fmt.Sprintf("number must be at least %g", *minimum))
		}
		return nil
	})
}

var checkDateTime = typed("a string", false, func(s string) *schemaError {
	if !dateTimeRE.MatchString(s) {
		return fail(`string doesn't match the format "date-time": string doesn't match pattern "` + dateTimePattern + `"`)
	}
	return nil
})

// checkEnum checks a value of one of the enum's values, null and values of
// other types included: the property is an allOf of the enum's schema.
func checkEnum[E ~string](values []E) valueCheck {
	allowed, _ := json.Marshal(values)
	return func(v any) *schemaError {
		if s, ok := v.(string); ok && slices.Contains(values, E(s)) {
			return nil
		}
		return fail("doesn't match schema due to: value is not one of the allowed values " + string(allowed))
	}
}

func ptrTo[T any](v T) *T { return &v }
