package sqlite_test

import (
	"database/sql"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/mixpeekgo/batches"
	"github.com/mixpeekgo/batches/api/domain"
	"github.com/mixpeekgo/batches/api/internal/storetest"
	"github.com/mixpeekgo/batches/api/sqlite"
)

// openTemp opens a new database in a temporary directory, closed at the
// end of the test.
func openTemp(t *testing.T) (*sqlite.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "batches.db")
	db, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db, path
}

// rawDB opens a plain connection on the file, to look behind the DB.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(path), RawQuery: "_pragma=busy_timeout(5000)"}
	raw, err := sql.Open("sqlite", u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return raw
}

// tenant is an organization with one namespace and one bucket.
type tenant struct {
	org domain.Organization
	ns  domain.Namespace
	b   domain.Bucket
	key string
}

func newTenant(t *testing.T, db *sqlite.DB, orgName, nsName, bucketName string) tenant {
	t.Helper()
	ctx := t.Context()
	org, err := db.CreateOrganization(ctx, orgName)
	if err != nil {
		t.Fatalf("CreateOrganization: %v", err)
	}
	ns, err := db.CreateNamespace(ctx, org.ID, nsName)
	if err != nil {
		t.Fatalf("CreateNamespace: %v", err)
	}
	b, err := db.CreateBucket(ctx, ns.ID, bucketName, "")
	if err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	key, err := db.CreateAPIKey(ctx, org.ID, "")
	if err != nil {
		t.Fatalf("CreateAPIKey: %v", err)
	}
	return tenant{org, ns, b, key}
}

func ptr[T any](v T) *T { return &v }

// batch returns a minimal valid batch.
func batch(id string, status batches.TaskStatus, created time.Time) domain.Batch {
	return domain.Batch{
		BatchID:    id,
		Status:     status,
		Type:       batches.BatchTypeBucket,
		ObjectIDs:  []string{"obj_" + id},
		TotalTiers: 1,
		CreatedAt:  created,
		UpdatedAt:  created.Add(time.Minute),
		Metadata:   map[string]any{},
	}
}

// listAll pages through every batch of the bucket with the given status
// filter, limit batches at a time.
func listAll(t *testing.T, db *sqlite.DB, bucketID string, status *batches.TaskStatus, limit int) ([]domain.Batch, int64) {
	t.Helper()
	var all []domain.Batch
	var total int64 = -1
	for offset := int64(0); ; {
		page, count, err := storetest.ListPage(t.Context(), db, domain.ListParams{BucketID: bucketID, Status: status, Offset: offset, Limit: limit})
		if err != nil {
			t.Fatalf("ListBatches(offset %d): %v", offset, err)
		}
		if total >= 0 && count != total {
			t.Fatalf("total_count changed from %d to %d", total, count)
		}
		total = count
		if len(page) > limit {
			t.Fatalf("page of %d batches, limit %d", len(page), limit)
		}
		if len(page) == 0 {
			return all, total
		}
		all = append(all, page...)
		offset += int64(len(page))
	}
}

func ids(bs []domain.Batch) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = b.BatchID
	}
	return out
}
