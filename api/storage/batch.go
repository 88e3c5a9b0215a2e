package storage

import (
	"fmt"
	"time"

	"github.com/mixpeekgo/batches/generated/server"
)

// minTime and maxTime bound the timestamps a batch may have: those that
// nanoseconds since the Unix epoch in an int64 can hold, whole years only
// (1678 to 2261). Both backends store timestamps that way.
var (
	minTime = time.Date(1678, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC)
)

// CheckBatch returns an error wrapping ErrInvalid when b cannot be stored:
// a batch_id that is not 1 to 128 characters of [A-Za-z0-9_.-], a Status or
// Type outside the enums, TotalTiers below 1, or a CreatedAt or UpdatedAt
// outside the years 1678 to 2261.
func CheckBatch(b *server.Batch) error {
	switch {
	case CheckID("batch_id", b.BatchId) != nil:
		return CheckID("batch_id", b.BatchId)
	case !b.Status.Valid():
		return fmt.Errorf("%w: status %q is not a TaskStatus", ErrInvalid, b.Status)
	case !b.Type.Valid():
		return fmt.Errorf("%w: type %q is not a BatchType", ErrInvalid, b.Type)
	case b.TotalTiers < 1:
		return fmt.Errorf("%w: total_tiers %d is less than 1", ErrInvalid, b.TotalTiers)
	}
	for _, t := range []struct {
		name string
		t    time.Time
	}{{"created_at", b.CreatedAt}, {"updated_at", b.UpdatedAt}} {
		if t.t.Before(minTime) || !t.t.Before(maxTime) {
			return fmt.Errorf("%w: %s %s is outside the years 1678 to 2261", ErrInvalid, t.name, t.t.Format(time.RFC3339Nano))
		}
	}
	return nil
}
