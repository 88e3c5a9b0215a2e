package benchmark

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/mixpeekgo/batches"
	"github.com/mixpeekgo/batches/generated/server"
)

// Baseline is the bare server every figure is divided by: net/http and
// encoding/json answering List Batches from memory, with no routing,
// authentication, validation or storage. It is what the same page costs
// when nothing but decoding the request and encoding the answer is done, so
// a ratio to it measures everything the real server adds; and since it runs
// on the same machine at the same time, the ratio holds when absolute times
// drift on a shared machine.
//
// It serves the listings it was given: for each status filter, the first
// batches of the bucket, newest first, and the total count. A request's
// offset and limit (default batches.DefaultLimit) select from those; past them the page is
// shorter or empty, with the same total count. A request for a status it
// was not given answers an empty page and a count of 0; a body that is not
// a JSON object of status, offset and limit answers 400 in plain text.
//
// It also answers the other operations measured, as bare (see
// Baseline.ServeHTTP): GET of a batch, from the batches of its listings;
// create, with the draft of SetOps; submit, with its task.
type Baseline struct {
	listings    map[server.TaskStatus]server.ListBatchesResponse
	collections map[string]server.ListBatchesResponse // by collection_id, of every status
	byID        map[string]server.Batch               // every batch of the listings
	draft       *server.Batch                         // what create answers, but its id and objects
	task        *server.TaskResponse                  // what submit answers
	created     atomic.Int64
}

// NewBaseline returns a baseline serving listings, keyed by status filter
// ("" for none).
func NewBaseline(listings map[server.TaskStatus]server.ListBatchesResponse) *Baseline {
	b := &Baseline{listings: listings, byID: map[string]server.Batch{}}
	for _, l := range listings {
		for _, bt := range l.Results {
			if bt.BatchId != nil {
				b.byID[*bt.BatchId] = bt
			}
		}
	}
	return b
}

// SetOps sets what create and submit answer: draft, a batch as created
// (its batch_id and object_ids are replaced by a new id and the request's
// objects), and task, a task as submitted.
func (b *Baseline) SetOps(draft server.Batch, task server.TaskResponse) {
	b.draft, b.task = &draft, &task
}

// LoadOps creates a batch of two objects (CreateBody) on the server at
// baseURL (in the seeded bucket) and submits it, and returns both answers,
// for SetOps.
func LoadOps(ctx context.Context, c *http.Client, baseURL string) (server.Batch, server.TaskResponse, error) {
	var (
		draft server.Batch
		task  server.TaskResponse
	)
	if err := Do(ctx, c, http.MethodPost, baseURL+BatchesPath, []byte(CreateBody), &draft); err != nil {
		return draft, task, fmt.Errorf("benchmark: creating a batch: %w", err)
	}
	if err := Do(ctx, c, http.MethodPost, baseURL+BatchPath(*draft.BatchId)+"/submit", nil, &task); err != nil {
		return draft, task, fmt.Errorf("benchmark: submitting a batch: %w", err)
	}
	return draft, task, nil
}

// Do sends one request of method with body (none when nil) to url, with
// the headers of SetHeaders, and decodes its 200 answer into v (numbers
// as json.Number when v holds interfaces). Another status is an error
// ("status N: " and the body).
func Do(ctx context.Context, c *http.Client, method, url string, body []byte, v any) error {
	var r io.Reader = http.NoBody
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		return err
	}
	SetHeaders(req.Header)
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode(v)
}

// baselineListing is the number of batches LoadBaseline keeps of each
// filter: the largest limit.
const baselineListing = batches.MaxLimit

// LoadBaseline returns a baseline serving what the server at baseURL (a
// scheme and host, e.g. "http://127.0.0.1:8080") answers for the seeded
// bucket at offset 0 and limit 1000: of every status, of each status of
// statuses, and of the collection FilterCollection (a request with a
// collection_id is answered from that listing, whatever its status). It
// returns an error when a request fails or answers anything
// but 200 with a ListBatchesResponse.
func LoadBaseline(ctx context.Context, c *http.Client, baseURL string, statuses ...server.TaskStatus) (*Baseline, error) {
	listings := map[server.TaskStatus]server.ListBatchesResponse{}
	for _, status := range append([]server.TaskStatus{""}, statuses...) {
		l, err := Fetch(ctx, c, baseURL, Body(status, 0, baselineListing))
		if err != nil {
			return nil, fmt.Errorf("benchmark: loading the baseline's listing of status %q: %w", status, err)
		}
		listings[status] = l
	}
	b := NewBaseline(listings)
	l, err := Fetch(ctx, c, baseURL, CollectionBody(FilterCollection, 0, baselineListing))
	if err != nil {
		return nil, fmt.Errorf("benchmark: loading the baseline's listing of collection %q: %w", FilterCollection, err)
	}
	b.collections = map[string]server.ListBatchesResponse{FilterCollection: l}
	return b, nil
}

// Fetch sends one List Batches request of body (see Body) for the seeded
// bucket, with the headers of SetHeaders, to the server at baseURL (a scheme
// and host, e.g. "http://127.0.0.1:8080") through c, and decodes its
// answer, numbers of metadata as json.Number so that they encode back as
// they came. It returns an error when the request fails, when the answer is
// not 200 ("status N: " and the body), and when its body is not a
// ListBatchesResponse with results (null results are an error).
func Fetch(ctx context.Context, c *http.Client, baseURL string, body []byte) (server.ListBatchesResponse, error) {
	var l server.ListBatchesResponse
	if err := Do(ctx, c, http.MethodPost, baseURL+Path, body, &l); err != nil {
		return server.ListBatchesResponse{}, err
	}
	if l.Results == nil {
		return server.ListBatchesResponse{}, errors.New("results is null")
	}
	return l, nil
}

// ServeHTTP answers a GET with the batch the path ends with (404 in plain
// text if it has none), a POST to a path ending in /submit with the task
// of SetOps, another POST to a path ending in /batches with the draft of
// SetOps (the body's object_ids, a new batch_id), and any other request
// with the page its body selects. Nothing checks the path further: the
// baseline does what the operation's answer needs and no more.
func (b *Baseline) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodGet:
		bt, ok := b.byID[r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(bt)
		return
	case strings.HasSuffix(r.URL.Path, "/submit") && b.task != nil:
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(b.task)
		return
	case strings.HasSuffix(r.URL.Path, "/batches") && b.draft != nil:
		var req server.CreateBatchRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		d := *b.draft
		id := fmt.Sprintf("btch_%012d", b.created.Add(1))
		d.BatchId, d.ObjectIds = &id, &req.ObjectIds
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(d)
		return
	}
	var req struct {
		Status     *server.TaskStatus `json:"status"`
		Collection *string            `json:"collection_id"`
		Offset     *int64             `json:"offset"`
		Limit      *int               `json:"limit"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil && err != io.EOF {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var status server.TaskStatus
	if req.Status != nil {
		status = *req.Status
	}
	offset, limit := int64(0), batches.DefaultLimit
	if req.Offset != nil {
		offset = *req.Offset
	}
	if req.Limit != nil {
		limit = *req.Limit
	}
	l := b.listings[status]
	if req.Collection != nil {
		l = b.collections[*req.Collection]
	}
	results := l.Results
	if results == nil {
		results = []server.Batch{}
	}
	from := min(max(offset, 0), int64(len(results)))
	to := min(from+int64(max(limit, 0)), int64(len(results)))
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(server.ListBatchesResponse{Results: results[from:to], TotalCount: l.TotalCount})
}
