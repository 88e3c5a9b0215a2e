package batches_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mixpeekgo/batches"
)

// A redirect that turns the POST into a GET (301, 302, 303) is refused:
// one request, not retried, an *Error of the redirect's status naming the
// location and the base URL to use. The realistic case: an http:// base
// URL that the server redirects to https://.
func TestMethodChangingRedirectIsRefused(t *testing.T) {
	var gets atomic.Int64
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			gets.Add(1)
		}
		writeJSON(w, 405, errorBody(405, "MethodNotAllowedError", "Method Not Allowed"))
	}))
	t.Cleanup(tlsSrv.Close)
	for _, status := range []int{301, 302, 303} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int64) {
				http.Redirect(w, r, tlsSrv.URL+r.URL.Path, status)
			})
			_, err := f.client(t, batches.WithHTTPClient(tlsSrv.Client())).ListBatches(t.Context(), "bkt_demo", nil)
			e := asError(t, err, status, nil)
			loc := tlsSrv.URL + "/v1/buckets/bkt_demo/batches/list"
			want := fmt.Sprintf("batches: listBatches: POST /v1/buckets/bkt_demo/batches/list: HTTP %d: the server redirected POST to GET at %s (HTTP %d); "+
				"the client does not follow a redirect that drops the request's body: set the base URL to %s", status, loc, status, tlsSrv.URL)
			if err.Error() != want {
				t.Errorf("reads\n%q, want\n%q", err, want)
			}
			if f.n.Load() != 1 || gets.Load() != 0 || len(e.Attempts) != 1 || e.Attempts[0].StatusCode != status || e.Header.Get("Location") != loc || e.Err == nil {
				t.Errorf("%d requests, %d GETs: %+v", f.n.Load(), gets.Load(), e)
			}
		})
	}

	// Behind a path prefix: the hint keeps the prefix the location has.
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int64) {
		http.Redirect(w, r, "/mixpeek"+strings.TrimPrefix(r.URL.Path, "/old"), http.StatusMovedPermanently)
	})
	_, err := f.client(t, batches.WithBaseURL(f.srv.URL+"/old")).ListBatches(t.Context(), "bkt_demo", nil)
	if e := asError(t, err, 301, nil); !strings.HasSuffix(e.Message, ": set the base URL to "+f.srv.URL+"/mixpeek") {
		t.Errorf("%v", err)
	}
}

// The caller's own redirect policy still applies to the redirects the
// client follows; a method-changing one is refused before it is asked.
func TestOwnCheckRedirectIsKept(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int64) {
		status := http.StatusTemporaryRedirect
		if strings.HasPrefix(r.URL.Path, "/see-other/") {
			status = http.StatusSeeOther
		}
		http.Redirect(w, r, "/elsewhere"+r.URL.Path, status)
	})
	var asked atomic.Int64
	own := &http.Client{CheckRedirect: func(req *http.Request, via []*http.Request) error {
		asked.Add(1)
		return http.ErrUseLastResponse
	}}
	_, err := f.client(t, batches.WithHTTPClient(own), batches.WithMaxRetries(0)).ListBatches(t.Context(), "bkt_demo", nil)
	if e := asError(t, err, 307, nil); asked.Load() != 1 || len(e.Attempts) != 1 || e.Err != nil {
		t.Errorf("asked %d times: %+v", asked.Load(), e)
	}

	asked.Store(0)
	_, err = f.client(t, batches.WithHTTPClient(own), batches.WithBaseURL(f.srv.URL+"/see-other")).ListBatches(t.Context(), "bkt_demo", nil)
	var e *batches.Error
	if !errors.As(err, &e) || e.StatusCode != 303 || asked.Load() != 0 || !strings.Contains(err.Error(), "redirected POST to GET") {
		t.Errorf("asked %d times: %v", asked.Load(), err)
	}
}

// A redirect the policy refuses (a loop past net/http's limit of 10, or the
// caller's CheckRedirect saying no) is a decision, not retried.
func TestRefusedRedirectIsNotRetried(t *testing.T) {
	loop := newFake(t, func(w http.ResponseWriter, r *http.Request, n int64) {
		http.Redirect(w, r, r.URL.Path, http.StatusTemporaryRedirect)
	})
	_, err := loop.client(t).ListBatches(t.Context(), "bkt_demo", nil)
	e := asError(t, err, 0, nil)
	if loop.n.Load() != 10 || len(e.Attempts) != 1 || !strings.HasSuffix(err.Error(), ": stopped after 10 redirects") {
		t.Errorf("%d requests: %v", loop.n.Load(), err)
	}

	once := newFake(t, func(w http.ResponseWriter, r *http.Request, n int64) {
		http.Redirect(w, r, "/elsewhere"+r.URL.Path, http.StatusPermanentRedirect)
	})
	errNo := errors.New("no redirects here")
	own := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return errNo }}
	_, err = once.client(t, batches.WithHTTPClient(own)).ListBatches(t.Context(), "bkt_demo", nil)
	if e := asError(t, err, 0, nil); once.n.Load() != 1 || len(e.Attempts) != 1 || !errors.Is(err, errNo) {
		t.Errorf("%d requests: %v", once.n.Load(), err)
	}
}
