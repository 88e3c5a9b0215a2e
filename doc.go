// Package batches is the Go client of Mixpeek's Bucket Batches and Tasks
// APIs: List Batches (POST /v1/buckets/{bucket_identifier}/batches/list),
// one page at a time or every batch through an iterator; a batch's
// lifecycle (CreateBatch, GetBatch, UpdateBatch, DeleteBatch, AddObjects,
// SubmitBatch, CancelBatch, RetryBatch) and its tasks (GetTask, ListTasks,
// AllTasks, KillTask); and waiters that follow a batch or task to its end
// as the API says to poll (WaitBatch, WaitTask, WaitBatches); with retries,
// typed errors and the API's statuses.
//
// This program prints every batch of the demo bucket of a running server
// (the reference server of this module, or Mixpeek), newest first, one a
// line, with the settings of $MIXPEEK_API_KEY, $MIXPEEK_NAMESPACE and
// $MIXPEEK_BASE_URL:
//
//	package main
//
//	import (
//		"context"
//		"fmt"
//		"log"
//		"time"
//
//		"github.com/mixpeekgo/batches"
//	)
//
//	func main() {
//		for b, err := range batches.AllBatches(context.Background(), "bkt_demo", nil) {
//			if err != nil {
//				log.Fatal(err)
//			}
//			fmt.Println(b.BatchID, b.Status, b.CreatedAt.Format(time.DateOnly))
//		}
//	}
//
// The functions ListBatches and AllBatches make a client from the
// environment for each call; a program that makes many calls makes one
// Client with New and calls its methods of the same names.
//
// # Settings
//
// New takes Options, each of which a call also takes to override the
// client's setting for that call only (WithNamespace to read another
// namespace, say). Defaults come from $MIXPEEK_API_KEY, $MIXPEEK_NAMESPACE
// and $MIXPEEK_BASE_URL (https://api.mixpeek.com when unset). New refuses
// invalid settings (CheckOptions checks options alone, without the
// environment); a call without an API key or namespace fails before
// sending, with ErrNoAPIKey or ErrNoNamespace.
//
// # Waiting
//
// WaitBatch polls a batch until it ends: after 1 s, then doubling up to
// 30 s (PollInterval, less a random 0–20 %), while it is PENDING,
// IN_PROGRESS or PROCESSING. It returns the batch, with a *StatusError
// matching ErrBatchFailed or ErrBatchCanceled when it ended FAILED or
// CANCELED, and at once with ErrBatchNotSubmitted for a DRAFT batch; an
// answer no retry changes (401, 403, 404, 422) ends it with that *Error,
// one that may pass (429, 5xx, no answer) after the call's retries is
// polled again after the next step or its Retry-After, up to
// MaxPollFailures in a row; the context ends it at once. Each attempt of
// a poll is bounded by PollTimeout (30 s by default), so a server that
// never answers ends a wait even without a deadline. WaitTask does the
// same for a task, WaitBatches for many batches at one walk of List
// Batches a round (or a GetBatch each, when they are few). OnProgress,
// OnUnknownStatus, PollBackoff, MaxPollFailures, PollTimeout and
// CallOptions configure a wait.
//
// # Retries
//
// Operations that only read (listBatches, getBatch, getTask, listTasks),
// and those the same request again leaves as they are (patchBatch, which
// replaces the metadata whole; killTask, idempotent by the API) are
// retried after connection
// errors, an attempt timeout, and 408, 429, 500, 502, 503 and 504 answers:
// DefaultMaxRetries (2) times, waiting a full-jitter exponential backoff
// from 0.5 s, or the server's Retry-After, never longer than the max retry
// delay (8 s by default); a Retry-After longer than that ends the retries
// with the answer's *Error (its RetryAfter tells the wait). The request
// body is sent again on each attempt. A call's context ends the waiting at
// once and is never retried. createBatch, addObjectsToBatch, submitBatch,
// cancelBatch, retryBatch and deleteBatch are sent once, whatever the
// failure: sent again after they reached the server they would act twice
// or answer otherwise (a second batch, a 400 for a batch submitted or
// canceled already, a 404 for a batch deleted); GetBatch tells what became
// of one that got no answer. Redirects are followed within an attempt (307
// and 308); one that would turn the POST into a GET is refused.
//
// # Errors
//
// Once a request is sent, a call fails with an *Error (errors.As): for an
// answer other than 2xx, with the status, Mixpeek's error type, message and
// details, the 422 validation items, the request id, Retry-After, the raw
// body and every attempt; errors.Is matches ErrUnauthorized, ErrForbidden,
// ErrNotFound, ErrRateLimited and ErrValidation. When no answer came (a
// connection error, a timeout, the context's end), its StatusCode is 0 and
// it unwraps to the cause, with the attempts all the same. A request the client refuses before sending (a negative
// offset, a limit over MaxLimit, an empty bucket identifier) matches
// ErrValidation too, and one without a key or namespace ErrNoAPIKey or
// ErrNoNamespace. AllBatches ends with an error matching
// ErrInconsistentPage, rather than pass a part of the list off as the whole,
// when the server's pages cannot make up the list (it ignores the offset or
// the limit, repeats pages, or counts batches it does not return). Errors
// and logs never show the API key.
//
// # Wire layer
//
// The wire layer is generated from openapi.yaml into generated/client
// (models and a typed client, which this package calls) and generated/server
// (the strict server interface the reference server in api/ implements).
// Regenerate after editing openapi.yaml with `go generate ./...`; never edit
// generated files. TestTypesMatchTheContract keeps this package's Batch,
// TaskStatus and BatchType in step with openapi.yaml.
package batches
