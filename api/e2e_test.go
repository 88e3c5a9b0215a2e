package api_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/mixpeekgo/batches/generated/client"
)

// newClient is the generated client of a tenant, through the validating
// transport.
func (f *fixture) newClient(t *testing.T, key string) *client.ClientWithResponses {
	t.Helper()
	c, err := client.NewClientWithResponses(f.url,
		client.WithHTTPClient(f.client),
		client.WithRequestEditorFn(func(_ context.Context, req *http.Request) error {
			req.Header.Set("Authorization", "Bearer "+key)
			return nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func ptr[T any](v T) *T { return &v }

// walk lists every page of bucket with the generated client.
func walk(t *testing.T, c *client.ClientWithResponses, namespace, bucket string, status *client.TaskStatus, limit int32) ([]client.Batch, int64) {
	t.Helper()
	var all []client.Batch
	var total int64 = -1
	for offset := int64(0); ; {
		resp, err := c.ListBatchesWithResponse(context.Background(), bucket,
			&client.ListBatchesParams{XNamespace: namespace},
			client.ListBatchesJSONRequestBody{Status: status, Offset: &offset, Limit: &limit})
		if err != nil {
			t.Fatal(err)
		}
		if resp.JSON200 == nil {
			t.Fatalf("status %d: %s", resp.StatusCode(), resp.Body)
		}
		if total >= 0 && resp.JSON200.TotalCount != total {
			t.Fatalf("total_count changed from %d to %d while paging", total, resp.JSON200.TotalCount)
		}
		total = resp.JSON200.TotalCount
		if len(resp.JSON200.Results) > int(limit) {
			t.Fatalf("%d results for limit %d", len(resp.JSON200.Results), limit)
		}
		if len(resp.JSON200.Results) == 0 {
			return all, total
		}
		all = append(all, resp.JSON200.Results...)
		offset += int64(len(resp.JSON200.Results))
	}
}

func TestPagination(t *testing.T) { eachBackend(t, testPagination) }

func testPagination(t *testing.T, f *fixture) {
	c := f.newClient(t, f.a.key)
	for _, limit := range []int32{1, 7, 100, 1000} {
		got, total := walk(t, c, "production", "bkt_a", nil, limit)
		if total != int64(len(f.a.batches)) || len(got) != len(f.a.batches) {
			t.Fatalf("limit %d: %d batches of total %d, want %d", limit, len(got), total, len(f.a.batches))
		}
		for i, b := range got {
			want := f.a.batches[i]
			// Every field is sent, though the contract requires only
			// bucket_id: the generated client's pointers are all set.
			if b.BatchId == nil || b.CreatedAt == nil || b.Status == nil || b.ObjectIds == nil || b.Metadata == nil ||
				b.TotalTiers == nil || b.Type == nil || b.UpdatedAt == nil || b.TierTasks == nil {
				t.Fatalf("limit %d: result %d lacks a field: %+v", limit, i, b)
			}
			if *b.BatchId != want.BatchID || !b.CreatedAt.Equal(want.CreatedAt) || string(*b.Status) != string(want.Status) {
				t.Fatalf("limit %d: result %d is %s (%s), want %s (%s)", limit, i, *b.BatchId, b.CreatedAt, want.BatchID, want.CreatedAt)
			}
			if b.BucketId != f.a.bucket.ID || len(*b.ObjectIds) != 1 || (*b.Metadata)["seq"] == nil || *b.TotalTiers != 1 {
				t.Fatalf("result %d lost fields: %+v", i, b)
			}
		}
	}
	for _, status := range []client.TaskStatus{client.TaskStatusCOMPLETED, client.TaskStatusFAILED, client.TaskStatusCOMPLETEDWITHERRORS, client.TaskStatusSUSPENDED} {
		var want []string
		for _, b := range f.a.batches {
			if string(b.Status) == string(status) {
				want = append(want, b.BatchID)
			}
		}
		got, total := walk(t, c, f.a.namespace.ID, "main", &status, 3)
		if total != int64(len(want)) || len(got) != len(want) {
			t.Fatalf("%s: %d of total %d, want %d", status, len(got), total, len(want))
		}
		for i := range got {
			if *got[i].BatchId != want[i] || *got[i].Status != status {
				t.Fatalf("%s: result %d is %s %s, want %s", status, i, *got[i].BatchId, *got[i].Status, want[i])
			}
		}
	}
}

func TestTenantIsolation(t *testing.T) { eachBackend(t, testTenantIsolation) }

func testTenantIsolation(t *testing.T, f *fixture) {
	ca, cb := f.newClient(t, f.a.key), f.newClient(t, f.b.key)

	// Each organization sees its own "production" namespace and "main"
	// bucket, by name and by id.
	for _, tc := range []struct {
		c    *client.ClientWithResponses
		own  tenant
		name string
	}{{ca, f.a, "A"}, {cb, f.b, "B"}} {
		for _, ns := range []string{"production", tc.own.namespace.ID} {
			for _, bucket := range []string{"main", tc.own.bucket.ID} {
				got, total := walk(t, tc.c, ns, bucket, nil, 1000)
				if total != int64(len(tc.own.batches)) {
					t.Fatalf("%s %s/%s: total %d, want %d", tc.name, ns, bucket, total, len(tc.own.batches))
				}
				for _, b := range got {
					if b.BucketId != tc.own.bucket.ID {
						t.Fatalf("%s sees batch %v of bucket %s", tc.name, b.BatchId, b.BucketId)
					}
				}
			}
		}
	}

	// Nothing of the other: every mix of the other's namespace and bucket,
	// by name and by id, answers 404 and names nothing of it.
	for _, tc := range []struct {
		c               *client.ClientWithResponses
		own, other      tenant
		name, otherName string
	}{{ca, f.a, f.b, "A", "B"}, {cb, f.b, f.a, "B", "A"}} {
		for _, ns := range []string{tc.other.namespace.ID, "production"} {
			for _, bucket := range []string{tc.other.bucket.ID, tc.other.bucket.ID + "/../" + tc.own.bucket.ID} {
				if ns == "production" && bucket == tc.own.bucket.ID {
					continue
				}
				resp, err := tc.c.ListBatchesWithResponse(context.Background(), bucket,
					&client.ListBatchesParams{XNamespace: ns}, client.ListBatchesJSONRequestBody{})
				if err != nil {
					t.Fatal(err)
				}
				if resp.StatusCode() != http.StatusNotFound || resp.JSON404 == nil || resp.JSON404.Error.Type != "NotFoundError" {
					t.Fatalf("%s asking for %s/%s: %d %s", tc.name, ns, bucket, resp.StatusCode(), resp.Body)
				}
				if strings.Contains(string(resp.Body), tc.other.org.ID) || strings.Contains(string(resp.Body), "btch_") {
					t.Fatalf("%s asking for %s/%s learns of %s: %s", tc.name, ns, bucket, tc.otherName, resp.Body)
				}
			}
		}
	}
}

// TestConcurrentLists runs lists of both organizations at once over one
// SQLite file.
func TestConcurrentLists(t *testing.T) { eachBackend(t, testConcurrentLists) }

func testConcurrentLists(t *testing.T, f *fixture) {
	ca, cb := f.newClient(t, f.a.key), f.newClient(t, f.b.key)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, own := ca, f.a
			if i%2 == 1 {
				c, own = cb, f.b
			}
			resp, err := c.ListBatchesWithResponse(context.Background(), "main",
				&client.ListBatchesParams{XNamespace: "production"}, client.ListBatchesJSONRequestBody{Limit: ptr[int32](50)})
			if err != nil {
				t.Error(err)
				return
			}
			if resp.JSON200 == nil || resp.JSON200.TotalCount != int64(len(own.batches)) {
				t.Errorf("status %d: %s", resp.StatusCode(), resp.Body)
			}
		}()
	}
	wg.Wait()
}
