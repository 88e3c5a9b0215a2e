package domain

import (
	"context"
	"fmt"
	"time"
)

// RegisterDemoKey registers apiKey (checked as for CreateAPIKey) as a key
// of the organization that holds the demo bucket ([DemoBucketID]), unless
// it is registered already: so that a key chosen for the demo
// (BATCHESD_DEMO_API_KEY) works on a database whose demo was seeded
// earlier with another key, and starting again with it changes nothing.
// It returns the demo's organization id, and registered true when it
// stored the key; false when the key was there already (to any
// organization, revoked or not: the caller tells which with
// OrganizationForKey). It returns an error wrapping ErrNotFound when the
// database has no demo bucket, and ErrInvalid for a malformed key.
func (a *admin) RegisterDemoKey(ctx context.Context, apiKey string) (organizationID string, registered bool, err error) {
	type result struct {
		org        string
		registered bool
	}
	if apiKey == "" {
		return "", false, fmt.Errorf("%s: register demo key: API key: %w: empty", a.name, ErrInvalid)
	}
	r, err := write(ctx, a, "register demo key", func(ctx context.Context, tx Tx) (result, error) {
		key, err := APIKey(apiKey)
		if err != nil {
			return result{}, err
		}
		org, found, err := tx.BucketOrganization(ctx, DemoBucketID)
		switch {
		case err != nil:
			return result{}, err
		case !found:
			return result{}, NotFound("bucket", DemoBucketID)
		}
		taken, err := tx.InsertAPIKey(ctx, HashKey(key), KeyPrefix(key), org, time.Now())
		if err != nil {
			return result{}, err
		}
		return result{org: org, registered: !taken}, nil
	})
	if err != nil {
		return "", false, err
	}
	return r.org, r.registered, nil
}
