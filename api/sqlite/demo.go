package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// SeedDemo fills an empty database with a demo: organization "Demo",
// namespace "demo", bucket "bkt_demo" (named "demo") holding 300 realistic
// batches, and an API key of the organization: apiKey when it is not empty
// (as for [DB.CreateAPIKey]), or else a new "sk_live_…" key. It returns what
// it created and true.
//
// The batches come from a fixed random seed, so they are the same on every
// run except for their timestamps, which are spread over the 90 days before
// now: most are COMPLETED; some FAILED (with an error),
// COMPLETED_WITH_ERRORS (with an error_summary), CANCELED, SKIPPED, DRAFT
// and so on; the most recent are still PENDING, IN_PROGRESS or PROCESSING;
// every TaskStatus occurs. A few are COLLECTION batches with several tiers.
//
// When the database already has an organization, SeedDemo changes nothing
// and returns a zero DemoInfo and false. The check and the creation are one
// transaction, so concurrent calls seed at most once. It returns an error
// wrapping [ErrInvalid] when apiKey is malformed, and other errors for
// storage failures or a done ctx.
func (db *DB) SeedDemo(ctx context.Context, apiKey string) (DemoInfo, bool, error) {
	var (
		info   DemoInfo
		seeded bool
	)
	err := db.inWriteTx(ctx, func(tx *sql.Tx) error {
		var hasOrgs bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM organizations)`).Scan(&hasOrgs); err != nil {
			return err
		}
		if hasOrgs {
			return nil
		}
		now := time.Now()
		org, err := createOrganization(ctx, tx, DemoOrganizationName, now)
		if err != nil {
			return err
		}
		ns, err := createNamespace(ctx, tx, org.ID, DemoNamespaceName, now)
		if err != nil {
			return err
		}
		b, err := createBucket(ctx, tx, ns.ID, DemoBucketName, DemoBucketID, now)
		if err != nil {
			return err
		}
		key, err := createAPIKey(ctx, tx, org.ID, apiKey, now)
		if err != nil {
			return err
		}
		batches := DemoBatches(now, b.ID)
		if err := insertBatches(ctx, tx, b.ID, batches, func(i int, err error) error {
			return fmt.Errorf("demo batch %d: %w", i, err)
		}); err != nil {
			return err
		}
		info = DemoInfo{OrganizationID: org.ID, NamespaceID: ns.ID, NamespaceName: ns.Name, BucketID: b.ID, APIKey: key}
		seeded = true
		return nil
	})
	if err != nil {
		return DemoInfo{}, false, fmt.Errorf("sqlite: seed demo: %w", err)
	}
	return info, seeded, nil
}
