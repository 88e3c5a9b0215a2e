package batches_test

// The examples are programs as a user writes them: they take the API key,
// namespace and base URL from $MIXPEEK_API_KEY, $MIXPEEK_NAMESPACE and
// $MIXPEEK_BASE_URL and list the bucket bkt_demo. Against the demo of the
// reference server (go run ./cmd/batchesd, then the exports its first
// start prints) they run as shown; TestExamplesAgainstTheDemo runs them so
// and checks what they print.

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"time"

	"github.com/mixpeekgo/batches"
)

// This example builds a client for Mixpeek from the environment
// (MIXPEEK_API_KEY, MIXPEEK_NAMESPACE) with a few settings of its own.
func ExampleNew() {
	c, err := batches.New(
		batches.WithMaxRetries(3),                  // up to 4 attempts of a read
		batches.WithAttemptTimeout(10*time.Second), // each attempt, retried when it runs out
		batches.WithLogger(slog.Default()),         // one line per attempt
	)
	if err != nil {
		log.Fatal(err)
	}
	_ = c
}

// Bad settings are refused by New, with the reason.
func ExampleNew_badOption() {
	_, err := batches.New(batches.WithBaseURL("ftp://api.mixpeek.com"))
	fmt.Println(err)
	// Output: batches: base URL "ftp://api.mixpeek.com": the scheme must be http or https
}

// One page of two batches, newest first, and where the next page starts.
// On the demo it prints, with other ids and dates:
//
//	btch_3ztc9ikhoy1d PENDING 2026-11-30
//	btch_an8niqbzjfu4 PROCESSING 2026-11-30
//	total_count: 300 more: true next offset: 2
func ExampleClient_ListBatches() {
	c, err := batches.New() // MIXPEEK_API_KEY, MIXPEEK_NAMESPACE, MIXPEEK_BASE_URL
	if err != nil {
		log.Fatal(err)
	}
	page, err := c.ListBatches(context.Background(), "bkt_demo", &batches.ListBatchesParams{Limit: 2})
	if err != nil {
		log.Fatal(err)
	}
	for _, b := range page.Results {
		fmt.Println(b.BatchID, b.Status, b.CreatedAt.Format(time.DateOnly))
	}
	fmt.Println("total_count:", page.TotalCount, "more:", page.HasMore(), "next offset:", page.NextOffset())
}

// Every FAILED batch of the bucket, fetched a page of 50 at a time as the
// loop goes. On the demo it prints lines like
//
//	btch_xf3yp3tlq4sa FAILED terminal=true: embedding service unavailable (HTTP 503) after 5 retries
//	btch_1uyzlon28ew2 FAILED terminal=true: extractor timed out after 300s
func ExampleClient_AllBatches() {
	c, err := batches.New()
	if err != nil {
		log.Fatal(err)
	}
	params := &batches.ListBatchesParams{Status: batches.TaskStatusFailed, Limit: 50}
	for b, err := range c.AllBatches(context.Background(), "bkt_demo", params) {
		if err != nil {
			log.Fatal(err) // the batches printed so far are not all of them
		}
		reason := "-"
		if b.Error != nil {
			reason = *b.Error
		}
		fmt.Printf("%s %s terminal=%v: %s\n", b.BatchID, b.Status, b.Status.IsTerminal(), reason)
	}
}

// Errors of the API are *batches.Error; errors.Is tells the common ones.
// On the demo it prints
//
//	not found: batches: listBatches: HTTP 404 NotFoundError: Bucket not found: bkt_missing (request id req_…)
//	404 NotFoundError bucket 1
//	true batches: listBatches: limit 5000 is more than 1000
func ExampleError() {
	c, err := batches.New()
	if err != nil {
		log.Fatal(err)
	}
	_, err = c.ListBatches(context.Background(), "bkt_missing", nil)
	switch {
	case errors.Is(err, batches.ErrNotFound):
		fmt.Println("not found:", err)
	case errors.Is(err, batches.ErrUnauthorized):
		fmt.Println("check MIXPEEK_API_KEY:", err)
	}
	var apiErr *batches.Error
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.StatusCode, apiErr.Type, apiErr.Details["resource"], len(apiErr.Attempts))
	}

	// A limit the API would refuse is refused before sending.
	_, err = c.ListBatches(context.Background(), "bkt_demo", &batches.ListBatchesParams{Limit: 5000})
	fmt.Println(errors.Is(err, batches.ErrValidation), err)
}

// Waiting for the newest batch of a bucket to finish: poll while its status
// is active, on the API's schedule.
func ExamplePollInterval() {
	c, err := batches.New()
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	status := func() (batches.TaskStatus, error) { // the newest batch's status
		page, err := c.ListBatches(ctx, "bkt_demo", &batches.ListBatchesParams{Limit: 1})
		if err != nil || len(page.Results) == 0 {
			return "", err
		}
		return page.Results[0].Status, nil
	}
	for attempt := 0; ; attempt++ {
		s, err := status()
		if err != nil {
			log.Fatal(err)
		}
		if !s.IsActive() { // terminal, or a status this client does not know
			fmt.Println("done:", s)
			return
		}
		select {
		case <-time.After(batches.PollInterval(attempt)):
		case <-ctx.Done():
			return
		}
	}
}
