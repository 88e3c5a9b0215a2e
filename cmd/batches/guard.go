package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/mixpeekgo/batches"
)

// notPagingError is a server that answers a later page of --all with
// batches already listed while its total_count has not grown to explain
// it: it ignores the offset, and going on would list a part as the whole
// (or, with a large total_count, send requests for a long time).
type notPagingError struct {
	offset int64 // the offset of the page
	listed int   // distinct batches listed so far
	total  int64 // the page's total_count
}

func (e *notPagingError) Error() string {
	return fmt.Sprintf("the page at offset %d holds only batches already listed (%d of %d fetched): the server does not page by offset",
		e.offset, e.listed, e.total)
}

// pagingGuard watches the pages of one --all walk, as a middleware of the
// client (it reads each 2xx answer and hands the client a copy), and ends
// the walk with a notPagingError, by cancelling its context so that the
// client does not retry, when a page at an offset the walk had not reached
// holds only batches already yielded and total_count has not grown by the
// page's length since the page before.
//
// The client's iterator skips batches it has yielded, which is right when
// batches created during the walk push others to later pages (total_count
// then grows by at least the page's length) or when it steps back after
// deletions (it then reads offsets it has read before); a page of only
// yielded batches with neither is the server ignoring the offset, and the
// iterator would walk on to total_count. The walk's loop calls yielded for
// each batch, so the guard knows what the iterator has yielded when the
// next page comes (the iterator fetches a page only when the loop asks).
type pagingGuard struct {
	cancel    context.CancelCauseFunc
	seen      map[string]bool // yielded batch ids
	reached   int64           // the highest offset + results of a page so far
	lastTotal int64           // total_count of the page before; -1 before the first
}

func newPagingGuard(cancel context.CancelCauseFunc) *pagingGuard {
	return &pagingGuard{cancel: cancel, seen: map[string]bool{}, lastTotal: -1}
}

// yielded records a batch the iterator yielded.
func (g *pagingGuard) yielded(id string) { g.seen[id] = true }

// middleware is the batches.Middleware of the guard.
func (g *pagingGuard) middleware(req *http.Request, next batches.MiddlewareNext) (*http.Response, error) {
	resp, err := next(req)
	if err != nil || resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	var page struct {
		Results []struct {
			BatchID string `json:"batch_id"`
		} `json:"results"`
		TotalCount int64 `json:"total_count"`
	}
	if json.Unmarshal(body, &page) != nil {
		return resp, nil // the client reports a body that is not a page
	}
	offset, n := requestOffset(req), int64(len(page.Results))
	fresh := false
	for _, b := range page.Results {
		if !g.seen[b.BatchID] {
			fresh = true
			break
		}
	}
	grew := page.TotalCount - g.lastTotal
	stuck := g.lastTotal >= 0 && n > 0 && !fresh && offset >= g.reached && grew < n
	g.lastTotal = page.TotalCount
	g.reached = max(g.reached, offset+n)
	if !stuck {
		return resp, nil
	}
	e := &notPagingError{offset: offset, listed: len(g.seen), total: page.TotalCount}
	g.cancel(e)
	return nil, e
}

// requestOffset is the offset a List Batches request asked for (0 when
// absent or unreadable).
func requestOffset(req *http.Request) int64 {
	if req.GetBody == nil {
		return 0
	}
	rc, err := req.GetBody()
	if err != nil {
		return 0
	}
	defer rc.Close()
	var body struct {
		Offset int64 `json:"offset"`
	}
	_ = json.NewDecoder(rc).Decode(&body)
	return body.Offset
}
