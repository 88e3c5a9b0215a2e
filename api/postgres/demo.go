package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mixpeekgo/batches/api/storage"
)

// seedLock is the key of the transaction-level advisory lock that orders
// concurrent SeedDemo calls, of any process: crc32 of "batches: seed demo".
const seedLock int64 = 0x7e4ecbb0

// SeedDemo fills an empty database with the demo of api/sqlite's
// DB.SeedDemo: organization "Demo", namespace "demo", bucket "bkt_demo"
// (named "demo") holding the 300 batches of [storage.DemoBatches], and an
// API key of the organization: apiKey when it is not empty (as for
// [DB.CreateAPIKey]), or else a new "sk_live_…" key. It returns what it
// created and true.
//
// When the database already has an organization, SeedDemo changes nothing
// and returns a zero DemoInfo and false. The check and the creation are one
// transaction under an advisory lock, so servers starting at once on an
// empty database seed it once. It returns an error wrapping
// [storage.ErrInvalid] when apiKey is malformed, and other errors for
// storage failures or a done ctx.
func (db *DB) SeedDemo(ctx context.Context, apiKey string) (storage.DemoInfo, bool, error) {
	var (
		info   storage.DemoInfo
		seeded bool
	)
	err := db.inTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, seedLock); err != nil {
			return err
		}
		var hasOrgs bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM organizations)`).Scan(&hasOrgs); err != nil {
			return err
		}
		if hasOrgs {
			return nil
		}
		now := time.Now()
		org, err := createOrganization(ctx, tx, storage.DemoOrganizationName, now)
		if err != nil {
			return err
		}
		ns, err := createNamespace(ctx, tx, org.ID, storage.DemoNamespaceName, now)
		if err != nil {
			return err
		}
		b, err := createBucket(ctx, tx, ns.ID, storage.DemoBucketName, storage.DemoBucketID, now)
		if err != nil {
			return err
		}
		key, err := createAPIKey(ctx, tx, org.ID, apiKey, now)
		if err != nil {
			return err
		}
		batches := storage.DemoBatches(now, b.ID)
		if err := insertBatches(ctx, tx, b.ID, batches, func(i int, err error) error {
			return fmt.Errorf("demo batch %d: %w", i, err)
		}); err != nil {
			return err
		}
		info = storage.DemoInfo{OrganizationID: org.ID, NamespaceID: ns.ID, NamespaceName: ns.Name, BucketID: b.ID, APIKey: key}
		seeded = true
		return nil
	})
	if err != nil {
		return storage.DemoInfo{}, false, fmt.Errorf("postgres: seed demo: %w", err)
	}
	return info, seeded, nil
}
