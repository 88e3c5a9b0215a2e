package batchestest

import (
	"time"

	"github.com/mixpeekgo/batches"
)

// ClientMaxRetryDelay is the longest wait between two attempts of the
// clients of [Server.Client], so that tests of retries stay fast. As with
// any client (batches.WithMaxRetryDelay), an answer whose Retry-After is
// longer ends the retries at once with its *batches.Error (RetryAfter set):
// inject RateLimited(0) or Unavailable(0) for faults the client retries,
// and a longer Retry-After to test what the code under test does then.
const ClientMaxRetryDelay = 10 * time.Millisecond

// Client returns a client of the server: its base URL, API key and
// namespace, its HTTP client ([Server.HTTPClient]), the default number of
// retries (batches.DefaultMaxRetries) and at most ClientMaxRetryDelay
// between attempts. opts are applied after these and win, e.g.
// batches.WithMaxRetries(0) or batches.WithNamespace(other). It fails the
// test when an option is refused.
func (s *Server) Client(opts ...batches.Option) *batches.Client {
	s.t.Helper()
	all := append([]batches.Option{
		batches.WithBaseURL(s.URL),
		batches.WithAPIKey(s.APIKey),
		batches.WithNamespace(s.Namespace),
		batches.WithHTTPClient(s.HTTPClient()),
		batches.WithMaxRetryDelay(ClientMaxRetryDelay),
	}, opts...)
	c, err := batches.New(all...)
	if err != nil {
		s.t.Fatalf("batchestest: Client: %v", err)
	}
	return c
}
