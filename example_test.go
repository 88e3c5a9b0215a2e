package batches_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"sync"
	"time"

	"github.com/mixpeekgo/batches"
	"github.com/mixpeekgo/batches/generated/server"
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

func ExampleClient_ListBatches() {
	baseURL, apiKey := startReferenceServer() // see helpers_test.go; the real API is the default
	c, err := batches.New(batches.WithBaseURL(baseURL), batches.WithAPIKey(apiKey), batches.WithNamespace("production"))
	if err != nil {
		log.Fatal(err)
	}
	page, err := c.ListBatches(context.Background(), "bkt_example", &batches.ListBatchesParams{Limit: 2})
	if err != nil {
		log.Fatal(err)
	}
	for _, b := range page.Results {
		fmt.Println(b.BatchID, b.Status, b.CreatedAt.Format(time.DateOnly))
	}
	fmt.Println("total_count:", page.TotalCount, "more:", page.HasMore(), "next offset:", page.NextOffset())
	// Output:
	// btch_example05 PENDING 2025-06-05
	// btch_example04 COMPLETED_WITH_ERRORS 2025-06-04
	// total_count: 5 more: true next offset: 2
}

func ExampleClient_AllBatches() {
	baseURL, apiKey := startReferenceServer()
	c, err := batches.New(batches.WithBaseURL(baseURL), batches.WithAPIKey(apiKey), batches.WithNamespace("production"))
	if err != nil {
		log.Fatal(err)
	}
	// Pages of two, fetched as the loop goes.
	for b, err := range c.AllBatches(context.Background(), "bkt_example", &batches.ListBatchesParams{Limit: 2}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s %-21s terminal=%v active=%v\n", b.BatchID, b.Status, b.Status.IsTerminal(), b.Status.IsActive())
	}
	// Output:
	// btch_example05 PENDING               terminal=false active=true
	// btch_example04 COMPLETED_WITH_ERRORS terminal=true active=false
	// btch_example03 FAILED                terminal=true active=false
	// btch_example02 PROCESSING            terminal=false active=true
	// btch_example01 COMPLETED             terminal=true active=false
}

// Errors of the API are *batches.Error; errors.Is tells the common ones.
func ExampleError() {
	baseURL, apiKey := startReferenceServer()
	c, err := batches.New(batches.WithBaseURL(baseURL), batches.WithAPIKey(apiKey), batches.WithNamespace("production"))
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
	_, err = c.ListBatches(context.Background(), "bkt_example", &batches.ListBatchesParams{Limit: 5000})
	fmt.Println(errors.Is(err, batches.ErrValidation), err)
	// Output:
	// not found: batches: listBatches: HTTP 404 NotFoundError: Bucket not found: bkt_missing
	// 404 NotFoundError bucket 1
	// true batches: listBatches: limit 5000 is outside 1..1000 (0 leaves it to the API, 100)
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

var example struct {
	once sync.Once
	err  error
}

// startReferenceServer starts the reference server (api.NewHandler over
// api/sqlite) in-process with a bucket bkt_example of five batches, and
// returns its URL and an API key.
func startReferenceServer() (baseURL, apiKey string) {
	example.once.Do(func() {
		if example.err = startRef(); example.err != nil {
			return
		}
		ctx := context.Background()
		b, err := ref.db.CreateBucket(ctx, ref.ns.ID, "example", "bkt_example")
		if err != nil {
			example.err = err
			return
		}
		statuses := []server.TaskStatus{server.TaskStatusCOMPLETED, server.TaskStatusPROCESSING, server.TaskStatusFAILED,
			server.TaskStatusCOMPLETEDWITHERRORS, server.TaskStatusPENDING}
		var bs []server.Batch
		for i, s := range statuses {
			at := time.Date(2025, 6, i+1, 12, 0, 0, 0, time.UTC)
			bs = append(bs, server.Batch{BatchId: fmt.Sprintf("btch_example%02d", i+1), Status: s, Type: server.BatchTypeBUCKET,
				TotalTiers: 1, CreatedAt: at, UpdatedAt: at})
		}
		example.err = ref.db.InsertBatches(ctx, b.ID, bs)
	})
	if example.err != nil {
		log.Fatal(example.err)
	}
	return ref.srv.URL, ref.key
}
