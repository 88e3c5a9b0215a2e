package batches

import (
	"context"
	"errors"
	"fmt"
	"iter"
)

// AllBatches returns every batch of a bucket from params.Offset on, newest
// first, fetching a page of params.Limit (0: DefaultLimit, which the walk
// then sends, to check each page against it) as the loop reaches it.
// params may be nil; opts override the client's settings for this walk
// only. For example:
//
//	for b, err := range c.AllBatches(ctx, "bkt_demo", nil) {
//		if err != nil {
//			return err
//		}
//		fmt.Println(b.BatchID, b.Status)
//	}
//
// The walk raises the offset by each page's number of results and yields a
// batch at most once (it keeps the ids it yielded, about 100 bytes each).
// It ends, with no error, after a page that reaches total_count, or at an
// empty page at or past it; breaking out of the loop ends it without
// fetching more. Every batch there when the walk starts is yielded though
// batches are created or deleted meanwhile (it steps back when total_count
// falls), but for one missed per deletion and creation between the same
// two pages; README.md, "Paging while the list changes", tells how.
//
// An error is yielded once, with a zero Batch, and ends the walk: the
// batches yielded before it are a part of the list, never the whole. It is
// one of ListBatches's (ErrValidation, ErrNoAPIKey, ErrNoNamespace, an
// *Error), or matches ErrInconsistentPage when the pages cannot make up
// the list: a page holds more results than the limit, a full page ends
// past its total_count, a page before total_count is empty twice, a page
// past what the walk reached holds only batches it yielded while
// total_count did not grow to explain them, or more than 10 requests in a
// row yield nothing new.
//
// To resume an interrupted walk, pass Offset = the earlier Offset plus the
// number of batches yielded (batches created or deleted since may then be
// repeated or missed).
func (c *Client) AllBatches(ctx context.Context, bucketIdentifier string, params *ListBatchesParams, opts ...Option) iter.Seq2[Batch, error] {
	return func(yield func(Batch, error) bool) {
		p := valueOf(params)
		cfg, err := c.prepare(opts, func() error { return checkList(bucketIdentifier, p) })
		if err != nil {
			yield(Batch{}, err)
			return
		}
		if p.Limit == 0 {
			p.Limit = DefaultLimit
		}
		w := newWalk(p.Offset, p.Limit)
		for {
			page, err := listPage(ctx, cfg, bucketIdentifier, p)
			if err != nil {
				var pe *pageError
				if errors.As(err, &pe) {
					pe.msg += fmt.Sprintf(" (%d batches yielded)", len(w.seen))
				}
				yield(Batch{}, err)
				return
			}
			keep, next, err := w.step(page)
			if err != nil {
				yield(Batch{}, err)
				return
			}
			if keep {
				for _, b := range page.Results {
					if _, dup := w.seen[b.BatchID]; dup {
						continue
					}
					w.seen[b.BatchID] = struct{}{}
					if !yield(b, nil) {
						return
					}
				}
			}
			if next < 0 {
				return
			}
			p.Offset = next
		}
	}
}

// AllBatches returns every batch of a bucket, as Client.AllBatches does
// (the errors that end the walk, ErrInconsistentPage among them, are its),
// with a client made by New(opts...) when the loop starts: settings from
// $MIXPEEK_API_KEY, $MIXPEEK_NAMESPACE and $MIXPEEK_BASE_URL, then opts. New's
// error, when a variable or option is invalid, is yielded once with a zero
// Batch and ends the walk. For example, every batch of the demo bucket:
//
//	for b, err := range batches.AllBatches(ctx, "bkt_demo", nil) {
//		if err != nil {
//			return err
//		}
//		fmt.Println(b.BatchID, b.Status)
//	}
func AllBatches(ctx context.Context, bucketIdentifier string, params *ListBatchesParams, opts ...Option) iter.Seq2[Batch, error] {
	return func(yield func(Batch, error) bool) {
		c, err := New(opts...)
		if err != nil {
			yield(Batch{}, err)
			return
		}
		for b, err := range c.AllBatches(ctx, bucketIdentifier, params) {
			if !yield(b, err) {
				return
			}
		}
	}
}

// maxStalePages is how many requests in a row AllBatches makes that yield
// no new batch, beyond the re-reads of a step back, before it gives up
// with ErrInconsistentPage.
const maxStalePages = 10

// walk is the state of one AllBatches walk between pages.
type walk struct {
	start     int64               // params.Offset: the walk never steps back before it
	reached   int64               // the highest offset + results of a page kept so far
	limit     int64               // the page size asked for
	longest   int64               // the longest page so far
	prevTotal int64               // total_count of the page before; -1 before the first
	emptyAt   int64               // the offset of the empty page asked for again; -1 when none
	seen      map[string]struct{} // ids yielded
	stale     int                 // requests in a row that yielded nothing new
	allowed   int                 // how many such requests the walk may make now
}

func newWalk(offset int64, limit int) *walk {
	return &walk{
		start: offset, reached: offset, limit: int64(limit), prevTotal: -1, emptyAt: -1,
		seen: make(map[string]struct{}), allowed: maxStalePages,
	}
}

// step judges a page. It returns whether to keep the page (the caller then
// yields its batches not in w.seen), the offset to ask for next (-1: the
// walk is over once the page is yielded), or an error matching
// ErrInconsistentPage.
func (w *walk) step(page *ListBatchesPage) (keep bool, next int64, err error) {
	n := int64(len(page.Results)) // at most w.limit: listPage checked
	w.longest = max(w.longest, n)
	prevTotal := w.prevTotal
	w.prevTotal = page.TotalCount
	if prevTotal >= 0 && page.TotalCount < prevTotal {
		// Batches went away: some not yet yielded may have moved before
		// this page; drop it and read again from where they may be. The
		// pages up to this one again are re-reads the walk may make.
		if back := max(w.start, page.Offset-(prevTotal-page.TotalCount)); back < page.Offset {
			size := max(w.longest, 1)
			w.allowed += int((page.Offset - back + size - 1) / size)
			return false, back, w.staleRequest(page)
		}
	}
	if n == 0 {
		if page.Offset >= page.TotalCount {
			return true, -1, nil
		}
		if w.emptyAt == page.Offset {
			return false, 0, &pageError{op: opListBatches, msg: fmt.Sprintf("the page at offset %d is empty twice, but total_count is %d: the server counts batches it does not return (%d batches yielded)", page.Offset, page.TotalCount, len(w.seen))}
		}
		w.emptyAt = page.Offset
		return false, page.Offset, w.staleRequest(page)
	}
	w.emptyAt = -1
	fresh := false
	for _, b := range page.Results {
		if _, ok := w.seen[b.BatchID]; !ok {
			fresh = true
			break
		}
	}
	if fresh {
		w.stale, w.allowed = 0, maxStalePages
	} else {
		if page.Offset >= w.reached && page.TotalCount-prevTotal < n {
			return false, 0, &pageError{op: opListBatches, msg: fmt.Sprintf("the page at offset %d holds only batches already yielded and total_count (%d) did not grow to explain it: the server ignores the offset (%d batches yielded)", page.Offset, page.TotalCount, len(w.seen))}
		}
		if err := w.staleRequest(page); err != nil {
			return false, 0, err
		}
	}
	if page.NextOffset() > page.TotalCount && n == w.limit {
		// A full page may have more after it, whatever total_count says.
		return false, 0, &pageError{op: opListBatches, msg: fmt.Sprintf("the page at offset %d is full (%d batches) and ends past total_count %d: the server counts fewer batches than it returns (%d batches yielded)", page.Offset, n, page.TotalCount, len(w.seen))}
	}
	w.reached = max(w.reached, page.Offset+n)
	if page.NextOffset() >= page.TotalCount {
		return true, -1, nil
	}
	return true, page.NextOffset(), nil
}

// staleRequest counts a request that yielded nothing new and fails the
// walk once there are more in a row than it may make.
func (w *walk) staleRequest(page *ListBatchesPage) error {
	w.stale++
	if w.stale <= w.allowed {
		return nil
	}
	return &pageError{op: opListBatches, msg: fmt.Sprintf("%d requests in a row, the last at offset %d, yielded no batch not yielded before (total_count %d, %d batches yielded): the server repeats pages, or batches are created faster than the walk reads", w.stale, page.Offset, page.TotalCount, len(w.seen))}
}
