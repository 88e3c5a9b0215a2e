// Command batches lists, creates, submits and follows the batches of a
// Mixpeek bucket from the command line. It speaks Mixpeek's Bucket Batches
// and Tasks APIs through this module's client (package batches), so it
// works against api.mixpeek.com and against the reference server (go run
// ./cmd/batchesd) alike, and retries as the client does.
//
// Usage:
//
//	batches [-v] list --bucket bkt_demo [--status COMPLETED] [--offset N] [--limit N] [--all] [-o table|json|jsonl]
//	batches create --bucket bkt_demo --object-id ID… [--metadata KEY=VALUE…]
//	batches get|update|delete|add-objects|cancel|retry --bucket bkt_demo BATCH_ID …
//	batches submit --bucket bkt_demo BATCH_ID [--wait]
//	batches wait --bucket bkt_demo BATCH_ID…
//	batches tasks get|kill TASK_ID; batches tasks list [--status S] [--type T] [--all]
//
// The lifecycle's commands print the API's answer as JSON, indented (tasks
// list: one task a line). wait and submit --wait follow the batches with
// the client's waiters (batches.WaitBatch, WaitBatches): on a terminal a
// progress bar (github.com/schollz/progressbar) redrawn in place, else one
// line per change, then a line with each outcome; exit status 6 when a
// batch ended FAILED or CANCELED.
//
// Global flags and their environment variables (a flag wins over its
// variable; an empty variable counts as unset):
//
//	--api-key          MIXPEEK_API_KEY    API key, sent as "Authorization: Bearer <key>" (required)
//	--namespace        MIXPEEK_NAMESPACE  namespace name or id, sent as "X-Namespace" (required)
//	--base-url         MIXPEEK_BASE_URL   scheme and host (a proxy's path prefix too), default https://api.mixpeek.com
//	--timeout                             timeout of each HTTP attempt, default 30s
//	--max-retries                         retries of a failed request, default 2
//	--max-retry-delay                     longest wait before a retry, default 8s (a longer Retry-After ends the retries)
//	-v, --verbose                         log each attempt and each retry's delay to stderr
//
// The settings are the client's (package batches) and it checks them: the
// base URL is http or https, a host, and a path prefix if a proxy serves
// the API under one, but it does not end in /v1, which the API paths start
// with already ("http://127.0.0.1:8080/" is accepted,
// "http://127.0.0.1:8080/v1" is a usage error). A bad flag, or a bucket,
// offset or limit the client refuses before sending, is reported in the
// client's words, after the flag it came from when that is known.
//
// Output is a table when stdout is a terminal and JSON otherwise; -o table,
// -o json or -o jsonl forces one. JSON output of one page is the server's
// ListBatchesResponse ({"results":[...],"total_count":N}), indented, each
// batch as the server sent it; with --all it is one such object holding
// every batch, total_count being --offset plus their number. -o jsonl
// writes one batch a line, compact, as the server sent it; with --all each
// page's lines are written as the page arrives. --all walks the pages with
// the client's iterator (page size --limit, or the largest the API
// allows), never prints a batch twice, and fails (exit status 1) on pages
// that cannot make up the whole list (batches.ErrInconsistentPage: a
// server that ignores the offset or the limit, repeats pages, or counts
// batches it does not return); with -o json or table it prints nothing
// unless every page came.
//
// API errors are printed to stderr as
//
//	error: <message> (<type>, HTTP <status>, request id <id>)
//
// or, for a 422 validation error, one line per failure, then the request
// id:
//
//	error: body.limit: Input should be less than or equal to 1000 (less_than_equal)
//	error: HTTP 422 Unprocessable Entity (request id <id>)
//
// followed by "error: gave up after N attempts" when the request was
// retried. Another answer (a proxy's HTML page, another server's JSON) is
// reported with the HTTP status and the first 200 bytes of its body. The
// request id is the one the server sent (X-Request-Id), left out when it
// sent none: it leads to the server's log line of the request. -v logs it
// too (request_id=…), for each attempt. The API key is never printed.
//
// Exit status: 0 success; 1 other failure (an answer that is not the API's,
// a 400 or 422 from the API, the output could not be written); 2 usage
// error (bad or missing flag or environment variable; nothing was sent); 3
// authentication (401, 403); 4 not found (404); 5 server error or server
// unreachable (5xx, or 429 once the retries ran out; network error,
// timeout); 6 a batch waited for ended FAILED or CANCELED; 130 interrupted
// (SIGINT, SIGTERM). A reader of stdout that goes
// away early (batches list --all -o jsonl | head -1) ends the command with
// status 0 and nothing on stderr, as for other Unix filters.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/term"
)

func main() {
	// A closed stdout (batches list | head -1) is a normal end: writes
	// return EPIPE, which run treats as success, instead of SIGPIPE
	// killing the program with status 141.
	signal.Ignore(syscall.SIGPIPE)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	var tty *terminal
	if fd := int(os.Stdout.Fd()); term.IsTerminal(fd) {
		tty = &terminal{width: func() int {
			w, _, err := term.GetSize(fd)
			if err != nil {
				return 0
			}
			return w
		}}
	}
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr, tty)
	stop()
	os.Exit(code)
}
