// Command batches lists the batches of a Mixpeek bucket from the command
// line. It speaks Mixpeek's Bucket Batches API ("List Batches",
// POST /v1/buckets/{bucket}/batches/list) through the client generated from
// openapi.yaml, so it works against api.mixpeek.com and against the
// reference server (go run ./cmd/batchesd) alike.
//
// Usage:
//
//	batches list --bucket bkt_demo [--status COMPLETED] [--offset N] [--limit N] [--all] [-o table|json]
//
// Global flags and their environment variables (a flag wins over its
// variable; an empty variable counts as unset):
//
//	--api-key    MIXPEEK_API_KEY    API key, sent as "Authorization: Bearer <key>" (required)
//	--namespace  MIXPEEK_NAMESPACE  namespace name or id, sent as "X-Namespace" (required)
//	--base-url   MIXPEEK_BASE_URL   scheme and host only, default https://api.mixpeek.com
//	--timeout                       per-request timeout, default 30s
//
// The base URL must not carry a path: the API paths already start with /v1,
// so "http://127.0.0.1:8080/" is accepted but "http://127.0.0.1:8080/v1" is
// a usage error.
//
// Output is a table when stdout is a terminal and JSON otherwise; -o table
// or -o json forces one. JSON output of one page is exactly the server's
// ListBatchesResponse ({"results":[...],"total_count":N}), indented; with
// --all it is one such object holding every batch. --all walks the pages
// (offset raised by the number of results, page size --limit or 1000) until
// total_count is reached or a page is empty, and drops any batch id already
// seen, so it neither loops forever nor prints a batch twice.
//
// API errors are printed to stderr as
//
//	error: <message> (<type>, HTTP <status>)
//
// or, for a 422 validation error, one line per failure:
//
//	error: body.limit: Input should be less than or equal to 1000 (less_than_equal)
//
// A body that is not the API's JSON (a proxy's HTML page, say) is reported
// with the HTTP status and its first 200 bytes. The API key is never printed.
//
// Exit status: 0 on success; 1 when the request fails (API error, network
// error, timeout, unexpected response); 2 on a usage error (bad or missing
// flag or environment variable), in which case no request is sent.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/term"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr, term.IsTerminal(int(os.Stdout.Fd())))
	stop()
	os.Exit(code)
}
