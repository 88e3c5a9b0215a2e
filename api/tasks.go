package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/mixpeekgo/batches"
	"github.com/mixpeekgo/batches/api/domain"
	"github.com/mixpeekgo/batches/generated/server"
)

// The operations on tasks. They take no X-Namespace: a task is its
// organization's, and one of another answers as one that does not exist.

// organization is the API key's organization.
func organization(ctx context.Context) (domain.Organization, error) {
	org, ok := OrganizationFrom(ctx)
	if !ok {
		return domain.Organization{}, errors.New("an operation reached without authentication")
	}
	return org, nil
}

// GetTask answers a task of the key's organization, as stored.
func (s *batchesServer) GetTask(ctx context.Context, req server.GetTaskRequestObject) (server.GetTaskResponseObject, error) {
	org, err := organization(ctx)
	if err != nil {
		return nil, err
	}
	buf := getBuffer()
	out, err := s.store.GetTask(ctx, org.ID, req.TaskId, (*buf)[:0])
	if err != nil {
		putBuffer(buf)
		if errors.Is(err, domain.ErrNotFound) {
			return nil, domain.NotFound("task", req.TaskId)
		}
		return nil, fmt.Errorf("getting a task: %w", err)
	}
	*buf = append(out, '\n')
	return stored{storedJSON{buf: buf, ctx: ctx, adm: s.adm}}, nil
}

// defaultTaskLimit is List Tasks' limit when the query has none.
const defaultTaskLimit = batches.DefaultLimit

// ListTasks answers one page of the organization's tasks: the body's
// filters, the query's page (limit, offset, cursor) and include_total.
func (s *batchesServer) ListTasks(ctx context.Context, req server.ListTasksRequestObject) (server.ListTasksResponseObject, error) {
	org, err := organization(ctx)
	if err != nil {
		return nil, err
	}
	p := domain.TaskListParams{OrganizationID: org.ID, Limit: defaultTaskLimit}
	q := req.Params
	if q.Limit != nil {
		p.Limit = int(*q.Limit)
	}
	if q.Offset != nil {
		p.Offset = int(*q.Offset)
	}
	if q.Cursor != nil {
		c, err := domain.ParseTaskCursor(*q.Cursor)
		if err != nil {
			return nil, err
		}
		p.After = &c
	}
	p.CountTotal = q.IncludeTotal != nil && *q.IncludeTotal
	if b := req.Body; b != nil {
		for field, set := range map[string]bool{"filters": b.Filters != nil, "sort": b.Sort != nil, "search": b.Search != nil} {
			if set {
				return nil, &domain.Error{Kind: domain.ErrInvalid,
					Message: field + " is not supported by this server: send null or leave it out (tasks come newest first; filter by status and task_type)",
					Details: map[string]any{"field": field}}
			}
		}
		if b.Status != nil {
			st := batches.TaskStatus(*b.Status)
			p.Status = &st
		}
		if b.TaskType != nil {
			tt := domain.TaskType(*b.TaskType)
			p.Type = &tt
		}
	}
	// Answer memory by the tasks' bound: limit tasks of the largest a
	// task can be.
	reserved, err := s.adm.reservePage(ctx, int64(p.Limit)*(domain.MaxTaskBytes+1)+1)
	if err != nil {
		return nil, err
	}
	buf := getBuffer()
	out, next, total, err := s.store.ListTasks(ctx, p, append((*buf)[:0], `{"pagination":`...))
	if err != nil {
		reserved.release(reserved.size())
		putBuffer(buf)
		return nil, fmt.Errorf("listing tasks: %w", err)
	}
	// The results are the store's; the pagination goes before them, as the
	// generated encoder orders the fields, moved within the buffer.
	pg := pagination(p, q.Cursor, next, total, s.maxTaskOffset)
	out = slices.Insert(out, len(`{"pagination":`), append(pg, `,"results":`...)...)
	out = append(out, "}\n"...)
	*buf = out
	return taskPage{storedJSON{buf: buf, ctx: ctx, adm: s.adm, reserved: reserved}}, nil
}

// pagination is the JSON of a page's PaginationResponse: next_page and
// previous_page are the relative URLs of the pages beside it by offset,
// the query as sent but for offset (cursor, include_total and limit
// kept; the body, which holds the filters, is sent again as it was): next
// when more tasks follow and its offset is one the contract allows
// (maxOffset), previous when the page does not start at offset 0.
func pagination(p domain.TaskListParams, cursor *string, next *domain.TaskCursor, total int64, maxOffset int) []byte {
	page, size := p.Offset/p.Limit+1, p.Limit
	pg := server.PaginationResponse{Page: &page, PageSize: &size}
	if next != nil {
		c := next.String()
		pg.NextCursor = &c
	}
	if p.CountTotal {
		pages := int((total + int64(p.Limit) - 1) / int64(p.Limit))
		pg.Total, pg.TotalPages = &total, &pages
	}
	at := func(offset int) *string {
		q := url.Values{"limit": {strconv.Itoa(p.Limit)}, "offset": {strconv.Itoa(offset)}}
		if cursor != nil {
			q.Set("cursor", *cursor)
		}
		if p.CountTotal {
			q.Set("include_total", "true")
		}
		u := "/v1/tasks/list?" + q.Encode()
		return &u
	}
	if next != nil && p.Offset+p.Limit <= maxOffset {
		pg.NextPage = at(p.Offset + p.Limit)
	}
	if p.Offset > 0 {
		pg.PreviousPage = at(max(p.Offset-p.Limit, 0))
	}
	j, _ := json.Marshal(pg) // ints and strings: it always encodes
	return j
}

// taskPage is the 200 answer of List Tasks.
type taskPage struct{ storedJSON }

func (p taskPage) VisitListTasksResponse(w http.ResponseWriter) error { return p.write(w) }

// KillTask kills a running task (cancels its batch); idempotent: it
// answers 200 whatever there is to kill, the same bytes for a task that
// does not exist, is terminal, or is another organization's.
func (s *batchesServer) KillTask(ctx context.Context, req server.KillTaskRequestObject) (server.KillTaskResponseObject, error) {
	org, err := organization(ctx)
	if err != nil {
		return nil, err
	}
	killed, batchID, err := s.store.KillTask(ctx, org.ID, req.TaskId)
	if err != nil {
		return nil, lifecycleError("killing a task", err)
	}
	msg := "Task " + req.TaskId + " is not running: nothing to kill"
	if killed {
		msg = "Task " + req.TaskId + " killed: batch " + batchID + " canceled"
	}
	ok := true
	return server.KillTask200JSONResponse{Success: &ok, Message: &msg}, nil
}
