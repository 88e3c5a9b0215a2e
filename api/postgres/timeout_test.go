package postgres

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mixpeekgo/batches/api/domain"
)

func TestParseStatementTimeout(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"0": 0, "2500": 2500 * time.Millisecond, "500ms": 500 * time.Millisecond, "10s": 10 * time.Second,
		"1.5s": 1500 * time.Millisecond, "1min": time.Minute, "2h": 2 * time.Hour, "1d": 24 * time.Hour,
		"250us": 250 * time.Microsecond, " 10 s ": 10 * time.Second,
	} {
		if got, err := ParseStatementTimeout(in); err != nil || got != want {
			t.Errorf("ParseStatementTimeout(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "abc", "-1s", "10 sec", "s", "1e3", "10S", "1.2.3ms", "100d"} {
		if got, err := ParseStatementTimeout(in); err == nil || !strings.Contains(err.Error(), "is not a duration") {
			t.Errorf("ParseStatementTimeout(%q) = %v, %v; want an error", in, got, err)
		}
	}
}

// A statement_timeout in the URL that is not a duration fails Open before
// it connects, naming the value and not the password, even when
// WithStatementTimeout overrides it.
func TestOpenBadStatementTimeoutInURL(t *testing.T) {
	for _, opts := range [][]Option{nil, {WithStatementTimeout(time.Second)}} {
		_, err := Open(t.Context(), "postgres://u:s3cret@127.0.0.1:1/db?statement_timeout=abc", opts...)
		if !errors.Is(err, domain.ErrInvalid) || !strings.Contains(err.Error(), `statement_timeout: "abc" is not a duration`) || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("Open = %v, want ErrInvalid naming the value", err)
		}
	}
}
