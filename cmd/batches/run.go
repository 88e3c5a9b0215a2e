package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/alecthomas/kong"

	"github.com/mixpeekgo/batches"
)

// Exit statuses of the command; commonHelp documents them.
const (
	exitOK          = 0   // success
	exitFailure     = 1   // any other failure: an answer the CLI cannot use, the API refusing the request (400, 422), writing the output
	exitUsage       = 2   // bad or missing flags or environment variables; nothing sent
	exitAuth        = 3   // 401 or 403: the API key is missing, wrong or may not do this
	exitNotFound    = 4   // 404: no such namespace or bucket
	exitUnavailable = 5   // the server failed (5xx, or 429 after the retries) or could not be reached (network error, timeout)
	exitInterrupted = 130 // SIGINT or SIGTERM (128 + SIGINT, as shells report it)
)

// defaultBaseURL is where the API lives unless --base-url or
// MIXPEEK_BASE_URL says otherwise.
const defaultBaseURL = batches.DefaultBaseURL

// taskStatuses is every value of the TaskStatus enum of openapi.yaml, in the
// contract's order; --status must be one of them.
var taskStatuses = batches.TaskStatuses()

// maxBucketIdentifier is the contract's maxLength of bucket_identifier.
const maxBucketIdentifier = 128

const (
	minLimit = 1
	maxLimit = batches.MaxLimit
	// allPageSize is the page size of --all when --limit is not given.
	allPageSize = maxLimit
)

const description = `List the batches of a Mixpeek bucket (Mixpeek's Bucket Batches API).

` + commonHelp

const commonHelp = `Flags may also come from the environment: MIXPEEK_API_KEY, MIXPEEK_NAMESPACE
and MIXPEEK_BASE_URL (a flag wins over its variable). The base URL is scheme
and host only, e.g. http://127.0.0.1:8080; the API paths already start with /v1.

Output is a table when stdout is a terminal, JSON otherwise (-o forces one).
JSON is the server's ListBatchesResponse, {"results":[...],"total_count":N};
with --all, one such object holding every page, total_count being --offset
plus the number of batches. -o jsonl writes one batch per line, as the server
sent it, as soon as its page arrives (for piping: jq -c, grep, wc -l).

A request that fails with 408, 429, 500, 502, 503 or 504 or a network error
is retried (--max-retries, 2 by default) after an exponential backoff with
jitter, or the server's Retry-After, at most --max-retry-delay (a longer
Retry-After ends the retries, and the error says how long the server asks
to wait). -v logs each
attempt and each retry's delay to stderr; the API key is never shown.

Exit status:
  0    success
  1    other failure (an answer that is not the API's, a 400 or 422 from the
       API, the output could not be written)
  2    usage error (bad or missing flag or environment variable; nothing was
       sent)
  3    authentication: 401 (API key missing, wrong or revoked) or 403
  4    not found: 404 (no such namespace or bucket)
  5    server error or server unreachable: 5xx or 429 once the retries ran
       out, network error, timeout
  130  interrupted (SIGINT, SIGTERM)
Stdout closed early by its reader (| head) ends the command with status 0,
nothing on stderr.
With --all and -o json or table nothing is printed unless every page was
fetched; with -o jsonl the lines already written stay and the exit status
tells whether the listing is whole.`

// cli is the command line; kong fills it in.
type cli struct {
	APIKey        string        `name:"api-key" placeholder:"KEY" envvar:"MIXPEEK_API_KEY" help:"API key, sent as 'Authorization: Bearer KEY' (env MIXPEEK_API_KEY). Required."`
	Namespace     string        `name:"namespace" placeholder:"NAMESPACE" envvar:"MIXPEEK_NAMESPACE" help:"Namespace name or id, sent as X-Namespace (env MIXPEEK_NAMESPACE). Required."`
	BaseURL       string        `name:"base-url" placeholder:"URL" envvar:"MIXPEEK_BASE_URL" default:"${default_base_url}" help:"API base URL, scheme and host only (env MIXPEEK_BASE_URL; default ${default})."`
	Timeout       time.Duration `name:"timeout" default:"30s" help:"Timeout of each HTTP attempt (sending the request and reading the answer); a timed-out attempt is retried."`
	MaxRetries    int           `name:"max-retries" default:"${default_max_retries}" help:"Retries of a request that failed with a retryable status or a network error (0 turns them off)."`
	MaxRetryDelay time.Duration `name:"max-retry-delay" default:"${default_max_retry_delay}" help:"Longest wait before a retry; a server's longer Retry-After ends the retries."`
	Verbose       bool          `name:"verbose" short:"v" help:"Log each HTTP attempt and each retry's delay to stderr (never the API key)."`

	List listCmd `cmd:"" help:"List the batches of a bucket, newest first."`
}

// listCmd is "batches list".
type listCmd struct {
	Bucket string `name:"bucket" required:"" placeholder:"BUCKET" help:"Bucket id or name, e.g. bkt_demo."`
	Status string `name:"status" placeholder:"STATUS" help:"Only batches with this status, one of: ${statuses} (case-insensitive)."`
	Offset *int64 `name:"offset" placeholder:"N" help:"Skip the first N matching batches (>= 0; server default 0)."`
	Limit  *int   `name:"limit" placeholder:"N" help:"At most N batches per page, ${min_limit}..${max_limit} (server default 100; with --all the page size, default ${all_page_size})."`
	All    bool   `name:"all" help:"Fetch every page from --offset on; print all batches at once (streamed with -o jsonl)."`
	Output string `name:"output" short:"o" placeholder:"FORMAT" enum:"auto,table,json,jsonl" default:"auto" help:"Output format: table, json, jsonl (one batch a line, streamed), or auto (table on a terminal, json otherwise)."`
}

// Help is the detailed help of "batches list --help".
func (l *listCmd) Help() string {
	return `--all walks every page (offset raised by the number
of results, page size --limit or 1000) until total_count is reached, and never
prints a batch twice. Pages that cannot make up the whole list fail the walk
with exit status 1: a server that ignores the offset (a later page holding
only batches already listed, with no new batches to explain it) or the limit,
repeats pages, or counts batches it does not return (a page before
total_count empty twice).

` + commonHelp
}

// usageError is an error in the command line or the environment: exit
// status 2 and no request.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// kongExit carries kong's exit status (after --help) out of kong.Parse.
type kongExit struct{ code int }

// run runs the command line args (without the program name) and returns the
// exit status. env looks up environment variables ("" means unset), and
// isTerminal tells whether stdout is a terminal (for the default output
// format).
func run(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer, isTerminal bool) (code int) {
	var c cli
	parser, err := kong.New(&c,
		kong.Name("batches"),
		kong.Description(description),
		kong.Writers(stdout, stderr),
		kong.Exit(func(code int) { panic(kongExit{code}) }),
		kong.Vars{
			"default_base_url": defaultBaseURL,
			"statuses":         joinStatuses(", "),
			"min_limit":        fmt.Sprint(minLimit),
			"max_limit":        fmt.Sprint(maxLimit),
			"all_page_size":    fmt.Sprint(allPageSize),

			"default_max_retries":     fmt.Sprint(batches.DefaultMaxRetries),
			"default_max_retry_delay": batches.DefaultMaxRetryDelay.String(),
		},
		kong.Resolvers(envResolver(env)),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true}),
	)
	if err != nil { // a bug in the cli struct
		fmt.Fprintf(stderr, "error: %v\n", err)
		return exitFailure
	}

	defer func() {
		if r := recover(); r != nil {
			e, ok := r.(kongExit)
			if !ok {
				panic(r)
			}
			code = e.code
		}
	}()

	kctx, err := parser.Parse(args)
	if err != nil {
		return reportUsage(stderr, err)
	}
	switch kctx.Command() {
	case "list":
		cfg, err := c.config()
		if err != nil {
			return reportUsage(stderr, err)
		}
		opts, err := c.List.options(isTerminal)
		if err != nil {
			return reportUsage(stderr, err)
		}
		return list(ctx, cfg, opts, stdout, stderr)
	default: // kong only accepts the commands of cli
		return reportUsage(stderr, usagef("unknown command %q", kctx.Command()))
	}
}

func reportUsage(stderr io.Writer, err error) int {
	fmt.Fprintf(stderr, "error: %v\n", err)
	fmt.Fprintln(stderr, "run 'batches --help' or 'batches list --help' for usage")
	return exitUsage
}

// envResolver gives a flag the value of the environment variable named by
// its envvar tag when the flag is not on the command line. Unlike kong's own
// env tag it reads env rather than the process environment, so run can be
// tested without touching os.Environ.
func envResolver(env func(string) string) kong.Resolver {
	return kong.ResolverFunc(func(_ *kong.Context, _ *kong.Path, flag *kong.Flag) (any, error) {
		name := flag.Tag.Get("envvar")
		if name == "" {
			return nil, nil
		}
		if v := env(name); v != "" {
			return v, nil
		}
		return nil, nil
	})
}

func joinStatuses(sep string) string {
	s := make([]string, len(taskStatuses))
	for i, st := range taskStatuses {
		s[i] = string(st)
	}
	return strings.Join(s, sep)
}

// config is the checked connection settings.
type config struct {
	apiKey        string
	namespace     string
	baseURL       string // scheme://host, no path
	timeout       time.Duration
	maxRetries    int
	maxRetryDelay time.Duration
	verbose       bool
}

func (c *cli) config() (config, error) {
	key := strings.TrimSpace(c.APIKey)
	if key == "" {
		return config{}, usagef("missing API key: pass --api-key or set MIXPEEK_API_KEY")
	}
	if !isHeaderToken(key) {
		// Never echo the key.
		return config{}, usagef("the API key (--api-key / MIXPEEK_API_KEY) contains spaces or control characters")
	}
	ns := strings.TrimSpace(c.Namespace)
	if ns == "" {
		return config{}, usagef("missing namespace: pass --namespace or set MIXPEEK_NAMESPACE")
	}
	if strings.IndexFunc(ns, unicode.IsControl) >= 0 {
		return config{}, usagef("the namespace (--namespace / MIXPEEK_NAMESPACE) %q contains control characters", ns)
	}
	base, err := parseBaseURL(c.BaseURL)
	if err != nil {
		return config{}, err
	}
	if c.Timeout <= 0 {
		return config{}, usagef("--timeout must be positive, got %s", c.Timeout)
	}
	if c.MaxRetries < 0 {
		return config{}, usagef("--max-retries must be >= 0, got %d", c.MaxRetries)
	}
	if c.MaxRetryDelay <= 0 {
		return config{}, usagef("--max-retry-delay must be positive, got %s", c.MaxRetryDelay)
	}
	return config{apiKey: key, namespace: ns, baseURL: base, timeout: c.Timeout,
		maxRetries: c.MaxRetries, maxRetryDelay: c.MaxRetryDelay, verbose: c.Verbose}, nil
}

// isHeaderToken reports whether s can go in an HTTP header as is: no
// spaces, no control characters.
func isHeaderToken(s string) bool {
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// parseBaseURL checks --base-url: http or https, a host, and no path but
// "/", no query, fragment or credentials. It returns scheme://host.
func parseBaseURL(raw string) (string, error) {
	const what = "--base-url / MIXPEEK_BASE_URL"
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", usagef("%s is empty; want scheme and host, e.g. %s", what, defaultBaseURL)
	}
	if !strings.Contains(raw, "://") {
		return "", usagef("%s %q must start with http:// or https://, e.g. %s", what, raw, defaultBaseURL)
	}
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", usagef("%s is not a URL: %v", what, err)
	}
	if u.User != nil {
		return "", usagef("%s %q must not contain credentials; pass the key with --api-key", what, u.Redacted())
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", usagef("%s %q must start with http:// or https://, e.g. %s", what, raw, defaultBaseURL)
	}
	if u.Host == "" {
		return "", usagef("%s %q has no host, e.g. %s", what, raw, defaultBaseURL)
	}
	root := scheme + "://" + u.Host
	if u.Path != "" && u.Path != "/" || u.RawPath != "" || u.Opaque != "" {
		return "", usagef("%s %q has a path; give scheme and host only (%s): the client adds /v1/buckets/... itself", what, raw, root)
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return "", usagef("%s %q must not have a query or fragment; give scheme and host only (%s)", what, raw, root)
	}
	return root, nil
}

// Output formats.
type format int

const (
	formatTable format = iota
	formatJSON
	formatJSONL
)

// listOptions is the checked "list" flags.
type listOptions struct {
	bucket string
	status batches.TaskStatus // "" for every status
	offset int64
	limit  int // 0: the server's default (one page) or allPageSize (--all)
	all    bool
	format format
}

func (l *listCmd) options(isTerminal bool) (listOptions, error) {
	o := listOptions{all: l.All}
	o.bucket = strings.TrimSpace(l.Bucket)
	if o.bucket == "" {
		return o, usagef("--bucket must not be empty")
	}
	if n := len(o.bucket); n > maxBucketIdentifier {
		return o, usagef("--bucket is %d bytes long, more than %d", n, maxBucketIdentifier)
	}
	if l.Status != "" {
		st := batches.TaskStatus(strings.ToUpper(strings.TrimSpace(l.Status)))
		if !st.IsKnown() {
			return o, usagef("--status %q is not a batch status; want one of %s", l.Status, joinStatuses(", "))
		}
		o.status = st
	}
	if l.Offset != nil {
		if *l.Offset < 0 {
			return o, usagef("--offset must be >= 0, got %d", *l.Offset)
		}
		o.offset = *l.Offset
	}
	if l.Limit != nil {
		if *l.Limit < minLimit || *l.Limit > maxLimit {
			return o, usagef("--limit must be between %d and %d, got %d", minLimit, maxLimit, *l.Limit)
		}
		o.limit = *l.Limit
	}
	switch l.Output {
	case "json":
		o.format = formatJSON
	case "jsonl":
		o.format = formatJSONL
	case "table":
		o.format = formatTable
	case "auto", "":
		o.format = formatJSON
		if isTerminal {
			o.format = formatTable
		}
	default: // kong's enum check comes first
		return o, usagef("-o/--output must be table, json or jsonl, got %q", l.Output)
	}
	return o, nil
}
