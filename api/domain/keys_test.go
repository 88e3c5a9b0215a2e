package domain_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/mixpeekgo/batches/api/domain"
)

// TestAPIKeyRule: the rule Admin.CreateAPIKey documents, MinKeyLength to
// MaxKeyLength bytes of printable ASCII without spaces, is the one APIKey
// enforces; errors never show the key.
func TestAPIKeyRule(t *testing.T) {
	for _, key := range []string{strings.Repeat("k", domain.MinKeyLength), strings.Repeat("~", domain.MaxKeyLength), "sk_live_!#$%&'()*+,-./:;<=>?@[]^_`{|}"} {
		if got, err := domain.APIKey(key); err != nil || got != key {
			t.Errorf("APIKey(%q) = %q, %v; want it as is", key, got, err)
		}
	}
	for _, key := range []string{strings.Repeat("k", domain.MinKeyLength-1), strings.Repeat("k", domain.MaxKeyLength+1),
		"sk_live_0123456789 abcdef", "sk_live_0123456789\tabcdef", "sk_live_0123456789abcdé", "sk_live_0123456789abc\x7f"} {
		if _, err := domain.APIKey(key); !errors.Is(err, domain.ErrInvalid) || strings.Contains(err.Error(), key) {
			t.Errorf("APIKey(%q) = %v, want ErrInvalid not showing the key", key, err)
		}
	}
	if a, b := mustKey(t), mustKey(t); a == b || !strings.HasPrefix(a, "sk_live_") || len(a) != len("sk_live_")+40 {
		t.Errorf("new keys %q and %q", a, b)
	}
}

func mustKey(t *testing.T) string {
	t.Helper()
	k, err := domain.APIKey("")
	if err != nil {
		t.Fatal(err)
	}
	return k
}
