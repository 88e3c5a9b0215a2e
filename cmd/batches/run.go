package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/alecthomas/kong"

	"github.com/mixpeekgo/batches"
	"github.com/mixpeekgo/batches/cmd/internal/buildinfo"
)

// Exit statuses of the command; commonHelp documents them.
const (
	exitOK          = 0   // success
	exitFailure     = 1   // any other failure: an answer the CLI cannot use, the API refusing the request (400, 422), writing the output
	exitUsage       = 2   // bad or missing flags or environment variables; nothing sent
	exitAuth        = 3   // 401 or 403: the API key is missing, wrong or may not do this
	exitNotFound    = 4   // 404: no such namespace or bucket
	exitUnavailable = 5   // the server failed (5xx, or 429 after the retries) or could not be reached (network error, timeout)
	exitBatchFailed = 6   // wait, submit --wait: a batch ended FAILED or CANCELED
	exitInterrupted = 130 // SIGINT or SIGTERM (128 + SIGINT, as shells report it)
)

// The flags are checked by the client (batches.CheckOptions, and the
// checks of a call before it sends), which says what is wrong; the CLI
// checks only what the client allows and the CLI does not: --status (the
// client sends any status), --limit 0 and --timeout 0 (the client's "the
// API's default" and "none"), and that a key and a namespace are given
// (see settings).

// minLimit is the contract's smallest --limit (the client takes 0 for the
// API's default, which --limit does not).
const minLimit = 1

// allPageSize is the page size of --all when --limit is not given.
const allPageSize = batches.MaxLimit

var description = `Mixpeek's Bucket Batches and Tasks APIs: list, create, submit and follow batches.

` + commonHelp + `

` + listDetail

const commonHelp = `Flags may also come from the environment: MIXPEEK_API_KEY, MIXPEEK_NAMESPACE
and MIXPEEK_BASE_URL (a flag wins over its variable). The base URL is scheme
and host, e.g. http://127.0.0.1:8080 (and a proxy's path prefix), not /v1.

list prints a table on a terminal, JSON otherwise (the server's
ListBatchesResponse; with --all, one such object holding every page).
-o jsonl writes one batch per line, as the server sent it, as each page
arrives. The other commands print the API's answer as JSON; wait and
submit --wait show progress (a bar on a terminal, else a line per change).

A request that fails with 408, 429, 5xx or a network error is retried
(--max-retries) after an exponential backoff with jitter, or the server's
Retry-After, at most --max-retry-delay (a longer one ends the retries);
create, add-objects, submit, cancel, retry and delete are sent once.
-v logs each attempt to stderr; the API key is never shown.

Exit status:
  0    success
  1    other failure (a 400 or 422 from the API, an answer that is not the
       API's, the output could not be written)
  2    usage error (nothing was sent)
  3    authentication: 401 (API key missing, wrong or revoked) or 403
  4    not found: 404
  5    server error or server unreachable: 5xx or 429 once the retries ran
       out, network error, timeout
  6    wait, submit --wait: a batch ended FAILED or CANCELED
  130  interrupted (SIGINT, SIGTERM)
Stdout closed early by its reader (| head) ends the command with status 0.`

// cli is the command line; kong fills it in. The help of each flag is one
// or two lines: batches --help tells the rest (commonHelp, listDetail).
type cli struct {
	Version       kong.VersionFlag `help:"Print the version and exit."`
	APIKey        string           `name:"api-key" placeholder:"KEY" envvar:"MIXPEEK_API_KEY" help:"API key, sent as 'Authorization: Bearer KEY' (MIXPEEK_API_KEY). Required."`
	Namespace     string           `name:"namespace" placeholder:"NAME" envvar:"MIXPEEK_NAMESPACE" help:"Namespace name or id, sent as X-Namespace (MIXPEEK_NAMESPACE). Required but by tasks."`
	BaseURL       string           `name:"base-url" placeholder:"URL" envvar:"MIXPEEK_BASE_URL" default:"${default_base_url}" help:"Scheme and host, without /v1 (MIXPEEK_BASE_URL; default ${default})."`
	Timeout       time.Duration    `name:"timeout" default:"30s" help:"Timeout of each HTTP attempt."`
	MaxRetries    int              `name:"max-retries" default:"${default_max_retries}" help:"Retries after 408, 429, 5xx or a network error (0: none)."`
	MaxRetryDelay time.Duration    `name:"max-retry-delay" default:"${default_max_retry_delay}" help:"Longest wait before a retry; a longer Retry-After ends them."`
	Verbose       bool             `name:"verbose" short:"v" help:"Log each HTTP attempt and retry to stderr."`
	// PollUnit scales the waits' schedule (the API's 1 s doubling up to
	// 30 s): tests shrink it.
	PollUnit time.Duration `name:"poll-unit" hidden:"" default:"1s"`

	List       listCmd       `cmd:"" help:"List the batches of a bucket, newest first."`
	Create     createCmd     `cmd:"" help:"Create a batch (DRAFT) of the bucket's objects."`
	Get        getCmd        `cmd:"" help:"Print a batch."`
	Update     updateCmd     `cmd:"" help:"Replace a batch's metadata."`
	Delete     deleteCmd     `cmd:"" help:"Delete a batch (canceled first if processing)."`
	AddObjects addObjectsCmd `cmd:"" name:"add-objects" help:"Add objects to a DRAFT batch."`
	Submit     submitCmd     `cmd:"" help:"Submit a DRAFT batch for processing [and wait]."`
	Cancel     cancelCmd     `cmd:"" help:"Cancel a batch being processed."`
	Retry      retryCmd      `cmd:"" help:"Process a FAILED or COMPLETED_WITH_ERRORS batch again."`
	Wait       waitCmd       `cmd:"" help:"Wait for batches to end, showing their progress."`
	Tasks      tasksCmd      `cmd:"" help:"Get, list or kill tasks."`
}

// listCmd is "batches list".
type listCmd struct {
	Bucket     string  `name:"bucket" required:"" placeholder:"BUCKET" help:"Bucket id or name, e.g. bkt_demo."`
	Status     *string `name:"status" placeholder:"STATUS" help:"Only this status: ${statuses}. Any case; a note on stderr says the value sent."`
	Collection *string `name:"collection" placeholder:"COLLECTION" help:"Only batches whose collection_ids hold this collection id (with --status, both apply)."`
	Offset     *int64  `name:"offset" placeholder:"N" help:"Skip the first N matching batches."`
	Limit      *int    `name:"limit" placeholder:"N" help:"Batches a page, ${min_limit}..${max_limit} (default ${default_limit}; ${all_page_size} with --all)."`
	All        bool    `name:"all" help:"Every page from --offset on, no batch twice."`
	Output     string  `name:"output" short:"o" placeholder:"FORMAT" enum:"auto,table,json,jsonl" default:"auto" help:"table, json, jsonl (a batch a line, streamed), or auto: table on a terminal."`
}

// Help is the detail of "batches list --help": the exit statuses; the rest
// is in batches --help.
func (l *listCmd) Help() string { return listExitHelp }

const listExitHelp = `Exit status:
  0    success
  1    other failure (a 400 or 422, an answer that is not the API's, output)
  2    usage error (nothing was sent)
  3    authentication (401, 403)
  4    not found (404)
  5    server error or server unreachable (5xx, 429 after the retries,
       network error, timeout)
  130  interrupted
Stdout closed early by its reader (| head) ends the command with status 0.
Output formats, --all's checks of the pages, retries: batches --help.`

// listDetail is what --all does, in batches --help.
var listDetail = `list --all walks every page (page size --limit or ` + fmt.Sprint(allPageSize) + `) and never prints a
batch twice; pages that cannot make up the whole list (a server that ignores
the offset or the limit, repeats pages, or counts batches it does not return)
fail it with exit status 1, and with -o json or table nothing is printed.`

// usageError is an error in the command line or the environment: exit
// status 2 and no request.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// kongExit carries kong's exit status (after --help) out of kong.Parse.
type kongExit struct{ code int }

// newParser is kong's parser of the command line into c.
func newParser(c *cli, env func(string) string, stdout, stderr io.Writer) (*kong.Kong, error) {
	return kong.New(c,
		kong.Name("batches"),
		kong.Description(description),
		kong.Writers(stdout, stderr),
		kong.Exit(func(code int) { panic(kongExit{code}) }),
		kong.Vars{
			"default_base_url": batches.DefaultBaseURL,
			"statuses":         joinStatuses(", "),
			"min_limit":        fmt.Sprint(minLimit),
			"max_limit":        fmt.Sprint(batches.MaxLimit),
			"default_limit":    fmt.Sprint(batches.DefaultLimit),
			"all_page_size":    fmt.Sprint(allPageSize),

			"version":                 "batches " + buildinfo.Read().String(),
			"default_max_retries":     fmt.Sprint(batches.DefaultMaxRetries),
			"default_max_retry_delay": batches.DefaultMaxRetryDelay.String(),
		},
		kong.Resolvers(envResolver(env)),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true}),
	)
}

// run runs the command line args (without the program name) and returns the
// exit status. env looks up environment variables ("" means unset), and
// tty is stdout when it is a terminal, nil otherwise (for the default
// output format, and the progress of waits).
func run(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer, tty *terminal) (code int) {
	var c cli
	parser, err := newParser(&c, env, stdout, stderr)
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
		// The command, as far as kong got: its help tells the flags.
		cmd := ""
		var pe *kong.ParseError
		if errors.As(err, &pe) && pe.Context != nil {
			cmd = commandName(pe.Context)
		}
		return reportUsage(stderr, cmd, err)
	}
	cmd := commandName(kctx)
	switch cmd {
	case "list":
		s, err := c.settings(stderr, cmd, true)
		if err != nil {
			return reportUsage(stderr, cmd, err)
		}
		opts, err := c.List.options(tty != nil)
		if err != nil {
			return reportUsage(stderr, cmd, err)
		}
		if opts.status != "" {
			noteStatus(stderr, *c.List.Status, opts.status)
		}
		client, err := batches.New(s.options...)
		if err != nil {
			return reportUsage(stderr, cmd, err)
		}
		return list(ctx, client, s, opts, stdout, stderr)
	}
	// The lifecycle's commands.
	s, err := c.settings(stderr, cmd, !strings.HasPrefix(cmd, "tasks "))
	if err != nil {
		return reportUsage(stderr, cmd, err)
	}
	client, err := batches.New(s.options...)
	if err != nil {
		return reportUsage(stderr, cmd, err)
	}
	return c.lifecycle(ctx, cmd, client, s, stdout, stderr, tty)
}

// commandName is the command kong selected, its path without the
// arguments: "list", "tasks kill"; "" before one was.
func commandName(kctx *kong.Context) string {
	var words []string
	for _, w := range strings.Fields(kctx.Command()) {
		if !strings.HasPrefix(w, "<") {
			words = append(words, w)
		}
	}
	return strings.Join(words, " ")
}

// reportUsage reports err, a usage error of the command cmd ("" when none
// was given), and returns exitUsage.
func reportUsage(stderr io.Writer, cmd string, err error) int {
	fmt.Fprintf(stderr, "error: %s\n", strings.TrimPrefix(err.Error(), "batches: "))
	fmt.Fprintln(stderr, usageHint(cmd))
	return exitUsage
}

// usageHint follows the report of a usage error of the command cmd: its
// help, which lists the global flags too; batches --help without one.
func usageHint(cmd string) string {
	if cmd == "" {
		return "run 'batches --help' for usage"
	}
	return "run 'batches " + cmd + " --help' for usage"
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
	var s []string
	for _, st := range batches.TaskStatuses() {
		s = append(s, string(st))
	}
	return strings.Join(s, sep)
}

// parseStatus is the status of --status flag, in any case and with
// spaces around: one of the contract's, or a usage error that calls flag
// not a what ("batch status", "status").
func parseStatus(flag, what string) (batches.TaskStatus, error) {
	st := batches.TaskStatus(strings.ToUpper(strings.TrimSpace(flag)))
	if !st.IsKnown() {
		return "", usagef("--status %q is not a %s; want one of %s", flag, what, joinStatuses(", "))
	}
	return st, nil
}

// noteStatus says on stderr what status is sent for --status flag, when
// parseStatus made st of it: the API takes the exact values only.
func noteStatus(stderr io.Writer, flag string, st batches.TaskStatus) {
	if string(st) != flag {
		fmt.Fprintf(stderr, "note: --status %s taken as %s\n", flag, st)
	}
}

// checkLimit refuses --limit 0, the client's "the API's default"; the
// client checks the other bounds.
func checkLimit(limit int) error {
	if limit == 0 {
		return usagef("--limit must be between %d and %d, got 0", minLimit, batches.MaxLimit)
	}
	return nil
}

// settings is what the global flags set: the client's options, each
// checked by the client, and the max retry delay (the report of an answer
// whose Retry-After is longer says so).
type settings struct {
	cmd           string // the command, e.g. "tasks kill", for the usage hint
	options       []batches.Option
	maxRetryDelay time.Duration
	pollUnit      time.Duration // the waits poll after 1, 2, 4 … up to 30 of it
}

// settings turns the global flags into the client's options. The client
// checks each (batches.CheckOptions), and its error, which says what is
// wrong, is reported with the flag it came from. The verbose log goes to
// stderr.
func (c *cli) settings(stderr io.Writer, cmd string, needNamespace bool) (settings, error) {
	// Every setting is given to the client, which then reads none from the
	// process's environment: a flag wins over its variable, even when the
	// flag is empty. So a missing key or namespace is told here, not by the
	// call (batches.ErrNoAPIKey, ErrNoNamespace, which name the Go options).
	key, ns := strings.TrimSpace(c.APIKey), strings.TrimSpace(c.Namespace)
	switch {
	case key == "":
		return settings{}, usagef("missing API key: pass --api-key or set MIXPEEK_API_KEY")
	case ns == "" && needNamespace:
		return settings{}, usagef("missing namespace: pass --namespace or set MIXPEEK_NAMESPACE")
	case c.Timeout == 0: // the client's "no timeout"
		return settings{}, usagef("--timeout must be positive, got %s", c.Timeout)
	}
	type flagged struct {
		flag string
		opt  batches.Option
	}
	flags := []flagged{
		{"--api-key / MIXPEEK_API_KEY", batches.WithAPIKey(key)},
		{"--base-url / MIXPEEK_BASE_URL", batches.WithBaseURL(strings.TrimSpace(c.BaseURL))},
		{"--timeout", batches.WithAttemptTimeout(c.Timeout)},
		{"--max-retries", batches.WithMaxRetries(c.MaxRetries)},
		{"--max-retry-delay", batches.WithMaxRetryDelay(c.MaxRetryDelay)},
	}
	if ns != "" { // the Tasks API takes none
		flags = append(flags, flagged{"--namespace / MIXPEEK_NAMESPACE", batches.WithNamespace(ns)})
	}
	if c.PollUnit <= 0 {
		return settings{}, usagef("--poll-unit must be positive, got %s", c.PollUnit)
	}
	s := settings{cmd: cmd, maxRetryDelay: c.MaxRetryDelay, pollUnit: c.PollUnit}
	for _, f := range flags {
		if err := batches.CheckOptions(f.opt); err != nil {
			return settings{}, usagef("%s: %s", f.flag, strings.TrimPrefix(err.Error(), "batches: "))
		}
		s.options = append(s.options, f.opt)
	}
	if c.Verbose {
		s.options = append(s.options, batches.WithLogger(verboseLogger(stderr)))
	}
	return s, nil
}

// verboseLogger is the log of -v: slog's text format without the time, one
// line an attempt, e.g.
//
//	level=WARN msg="batches: request failed, retrying" method=POST path=/v1/buckets/bkt_demo/batches/list status=503 duration=1.2ms attempt=1 request_id=req_… retry_in=317ms
func verboseLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
}

// Output formats.
type format int

const (
	formatTable format = iota
	formatJSON
	formatJSONL
)

// listOptions is the "list" flags. The bucket, offset and limit are the
// client's to check when the call is made (batches.ErrValidation, before
// sending).
type listOptions struct {
	bucket string
	status batches.TaskStatus // "" for every status
	// collection is "" for every batch; the client checks its length.
	collection string
	offset     int64
	limit      int // 0: the server's default (one page) or allPageSize (--all)
	all        bool
	format     format
}

func (l *listCmd) options(isTerminal bool) (listOptions, error) {
	o := listOptions{bucket: strings.TrimSpace(l.Bucket), all: l.All}
	if l.Status != nil {
		// The client sends any status (a newer server may know more); the
		// CLI takes those of the contract, in any case. An empty one is
		// refused, not taken as no filter.
		st, err := parseStatus(*l.Status, "batch status")
		if err != nil {
			return o, err
		}
		o.status = st
	}
	if l.Collection != nil {
		// Given, an empty one is refused (the API's 1-character minimum),
		// not taken as no filter: that would list every batch.
		if *l.Collection == "" {
			return o, usagef("--collection is empty; give a collection id, or leave the flag out for every collection")
		}
		o.collection = *l.Collection
	}
	if l.Offset != nil {
		o.offset = *l.Offset
	}
	if l.Limit != nil {
		if err := checkLimit(*l.Limit); err != nil {
			return o, err
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
