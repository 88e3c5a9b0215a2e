package benchmark

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

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
type Baseline struct {
	listings    map[server.TaskStatus]server.ListBatchesResponse
	collections map[string]server.ListBatchesResponse // by collection_id, of every status
}

// NewBaseline returns a baseline serving listings, keyed by status filter
// ("" for none).
func NewBaseline(listings map[server.TaskStatus]server.ListBatchesResponse) *Baseline {
	return &Baseline{listings: listings}
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
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+Path, bytes.NewReader(body))
	if err != nil {
		return server.ListBatchesResponse{}, err
	}
	SetHeaders(req.Header)
	resp, err := c.Do(req)
	if err != nil {
		return server.ListBatchesResponse{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return server.ListBatchesResponse{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return server.ListBatchesResponse{}, fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	var l server.ListBatchesResponse
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&l); err != nil {
		return server.ListBatchesResponse{}, err
	}
	if l.Results == nil {
		return server.ListBatchesResponse{}, errors.New("results is null")
	}
	return l, nil
}

// ServeHTTP answers any request with the page its body selects.
func (b *Baseline) ServeHTTP(w http.ResponseWriter, r *http.Request) {
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
