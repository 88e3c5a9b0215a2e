package api

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/mixpeekgo/batches/api/domain"
)

// TestLRUBounds: entries cost at most the bound, the least recently used
// go first, an entry over the bound is not kept, an expired one not
// returned.
func TestLRUBounds(t *testing.T) {
	c := newLRU[int, string](10)
	for i := range 20 {
		c.put(i, fmt.Sprint(i), 3, time.Time{})
		if n, cost := c.len(); cost > 10 || n > 3 {
			t.Fatalf("after %d puts: %d entries costing %d", i+1, n, cost)
		}
	}
	if _, ok := c.get(19, time.Time{}); !ok {
		t.Error("the last entry is gone")
	}
	if _, ok := c.get(16, time.Time{}); ok {
		t.Error("an entry used least recently is kept")
	}
	c.get(17, time.Time{}) // 17 is now the most recent: 18 goes next
	c.put(20, "20", 3, time.Time{})
	if _, ok := c.get(18, time.Time{}); ok {
		t.Error("18 kept, 17 used since")
	}
	if _, ok := c.get(17, time.Time{}); !ok {
		t.Error("17 evicted although used")
	}
	c.put(21, "big", 11, time.Time{})
	if _, ok := c.get(21, time.Time{}); ok {
		t.Error("an entry over the bound is kept")
	}
	now := time.Now()
	c.put(22, "x", 1, now.Add(time.Second))
	if _, ok := c.get(22, now.Add(time.Second)); ok {
		t.Error("an expired entry is returned")
	}
}

// unknownKeys is a store that knows no key.
type unknownKeys struct{ domain.Store }

func (unknownKeys) OrganizationForKey(context.Context, [32]byte) (domain.Organization, error) {
	return domain.Organization{}, domain.ErrNotFound
}

// TestUnknownKeysBounded: a flood of distinct unknown keys keeps at most
// resolveEntries of them.
func TestUnknownKeysBounded(t *testing.T) {
	c := newResolveCache(time.Minute)
	for i := range 3 * resolveEntries {
		if _, err := c.organizationForKey(t.Context(), unknownKeys{}, domain.HashKey(fmt.Sprint("sk_", i))); err != domain.ErrNotFound {
			t.Fatal(err)
		}
	}
	if n, _ := c.keys.len(); n != resolveEntries {
		t.Errorf("%d keys kept, want %d", n, resolveEntries)
	}
}
