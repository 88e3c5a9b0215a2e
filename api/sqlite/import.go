package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"io"

	"github.com/mixpeekgo/batches/api/storage"
)

// ImportBatches stores in the bucket bucketID the batches read from r as
// JSON Lines: one Batch object per line, exactly as the List Batches
// endpoint returns them (openapi.yaml, components.schemas.Batch). Lines may
// end in "\n" or "\r\n" and be up to MaxImportLine bytes long; blank lines
// are skipped, and a UTF-8 byte order mark at the start is ignored. Each
// line must hold one JSON object and nothing after it, which must validate
// against the Batch schema of the embedded OpenAPI document (required
// fields, enums, types, date-time formats, total_tiers ≥ 1) once the fields
// it leaves out get Mixpeek's defaults ([storage.ReadBatches]); batch_id,
// created_at and updated_at must be given. Fields the schema does not know
// (Mixpeek's tier_tasks, say) are ignored. The bucket_id
// of the lines is ignored and bucketID stored instead; every other field is
// kept as given, timestamps to the nanosecond (stored in UTC) and metadata
// numbers digit for digit. It returns how many batches it stored.
//
// The import is all or nothing: the whole input is read and checked first,
// then stored in one transaction, so on any error nothing is stored and the
// count is 0. An error about a line is a *[LineError] whose message starts
// with "line N: ", N counting from 1 (blank lines included): a malformed or
// invalid line (wrapping [ErrInvalid]), or a batch_id repeated in the input
// or already stored in any bucket (wrapping [ErrAlreadyExists]). It returns
// an error wrapping [api.ErrNotFound] when the bucket does not exist, and
// other errors when r fails, for storage failures or a done ctx.
func (db *DB) ImportBatches(ctx context.Context, bucketID string, r io.Reader) (int, error) {
	if err := mustExist(ctx, db.read, "buckets", "bucket", bucketID); err != nil {
		return 0, fmt.Errorf("sqlite: import batches: %w", err)
	}
	batches, lines, err := storage.ReadBatches(r)
	if err != nil {
		return 0, fmt.Errorf("sqlite: import batches: %w", err)
	}
	err = db.inWriteTx(ctx, func(tx *sql.Tx) error {
		return insertBatches(ctx, tx, bucketID, batches, func(i int, err error) error {
			return &LineError{Line: lines[i], Err: err}
		})
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: import batches: %w", err)
	}
	return len(batches), nil
}
