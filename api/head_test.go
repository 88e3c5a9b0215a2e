package api_test

import (
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/mixpeekgo/batches/generated/server"
)

// TestHeadAnswersAsGet: on every path of the contract, HEAD answers as GET
// does (status and headers, validated as the GET) without a body, where
// the path has a GET; and every 405's Allow names only methods that the
// path serves (HEAD among them only beside GET), so that what a 405
// advertises is true.
func TestHeadAnswersAsGet(t *testing.T) { eachBackend(t, testHeadAnswersAsGet) }

func testHeadAnswersAsGet(t *testing.T, f *fixture) {
	spec, err := server.GetSpec()
	if err != nil {
		t.Fatal(err)
	}
	b := f.create("obj_head")
	task := f.submit(b.BatchID)
	send := func(method, path string, body string) (*http.Response, []byte) {
		t.Helper()
		var r io.Reader
		if body != "" {
			r = strings.NewReader(body)
		}
		req, err := http.NewRequest(method, f.url+path, r)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+f.a.key)
		req.Header.Set("X-Namespace", "production")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		got, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, got
	}
	fill := func(tmpl, batch, taskID string) string {
		return strings.NewReplacer("{bucket_identifier}", "bkt_a", "{batch_id}", batch, "{task_id}", taskID).Replace(tmpl)
	}
	methods := []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}
	for _, tmpl := range spec.Paths.InMatchingOrder() {
		item := spec.Paths.Find(tmpl)
		// What exists, and what does not: the same statuses either way.
		for _, path := range []string{fill(tmpl, b.BatchID, task.TaskID), fill(tmpl, "btch_none", "task_none"), fill(tmpl, "list", "list")} {
			if item.Get != nil {
				get, getBody := send(http.MethodGet, path, "")
				head, headBody := send(http.MethodHead, path, "")
				if head.StatusCode != get.StatusCode || len(headBody) != 0 ||
					head.Header.Get("Content-Type") != get.Header.Get("Content-Type") ||
					head.Header.Get("Content-Length") != get.Header.Get("Content-Length") || head.Header.Get("X-Request-Id") == "" {
					t.Errorf("HEAD %s: %d %v %q; GET: %d %v %s", path, head.StatusCode, head.Header, headBody, get.StatusCode, get.Header, getBody)
				}
				if get.StatusCode == http.StatusMethodNotAllowed || get.StatusCode == http.StatusNotFound && strings.Contains(string(getBody), `"Not Found: `) {
					t.Errorf("GET %s is not routed: %d %s", path, get.StatusCode, getBody)
				}
			}
			// Each 405 advertises only what the path serves (asked of ids
			// that do not exist, so that nothing changes).
			for _, m := range methods {
				if strings.Contains(path, b.BatchID) || strings.Contains(path, task.TaskID) {
					break
				}
				resp, _ := send(m, path, "")
				if resp.StatusCode != http.StatusMethodNotAllowed {
					continue
				}
				allow := strings.Split(resp.Header.Get("Allow"), ", ")
				if slices.Contains(allow, m) || slices.Contains(allow, http.MethodHead) != slices.Contains(allow, http.MethodGet) {
					t.Errorf("%s %s: 405 with Allow %v", m, path, allow)
				}
				for _, a := range allow {
					if a == http.MethodDelete || a == http.MethodPost || a == http.MethodPatch {
						continue // would change what the other checks read; routed, as the mux says
					}
					if r, body := send(a, path, ""); r.StatusCode == http.StatusMethodNotAllowed || strings.Contains(string(body), `"Not Found: `) {
						t.Errorf("%s %s advertises %s, which answers %d %s", m, path, a, r.StatusCode, body)
					}
				}
			}
		}
	}
	// The batch and its task, by HEAD: 200, no body.
	for _, path := range []string{bkt + "/" + b.BatchID, "/v1/tasks/" + task.TaskID} {
		if resp, body := send(http.MethodHead, path, ""); resp.StatusCode != http.StatusOK || len(body) != 0 {
			t.Errorf("HEAD %s: %d %q", path, resp.StatusCode, body)
		}
	}
}
