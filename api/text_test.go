package api_test

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/mixpeekgo/batches/api/domain"
)

// TestBodiesThatAreNotText: a body holding bytes that are not UTF-8, or a
// \u escape of half a surrogate pair, answers 422 json_invalid at the
// character (as pydantic's JSON parser refuses it) on every operation with
// a body, and changes nothing; before, each was read as U+FFFD, so that
// two different lone surrogates made the same id. A whole pair, and an
// escaped backslash before "ud800", are text.
func TestBodiesThatAreNotText(t *testing.T) { eachBackend(t, testBodiesThatAreNotText) }

func testBodiesThatAreNotText(t *testing.T, f *fixture) {
	d := f.create("obj_1")
	before := f.totals()
	// The item of the first escape esc of body, or of its first byte b
	// that is not UTF-8, at its character.
	surrogate := func(body, esc string) string {
		at := strings.Index(body, esc)
		char := utf8.RuneCountInString(body[:at])
		return `{"ctx":{"error":"\\` + esc[1:] + ` at byte ` + strconv.Itoa(at) + ` is half of a UTF-16 surrogate pair without the other half, which no UTF-8 text holds"},"input":{},"loc":["body",` + strconv.Itoa(char) + `],"msg":"JSON decode error","type":"json_invalid"}`
	}
	notUTF8 := func(body, b string) string {
		at := strings.Index(body, b)
		char := utf8.RuneCountInString(body[:at])
		return fmt.Sprintf(`{"ctx":{"error":"invalid UTF-8 (byte 0x%02x) at byte %d"},"input":{},"loc":["body",%d],"msg":"JSON decode error","type":"json_invalid"}`, b[0], at, char)
	}
	objects := bkt + "/" + d.BatchID + "/objects"
	for _, c := range []struct {
		method, path, body, bad string
	}{
		{http.MethodPost, bkt, `{"object_ids":["\ud800"]}`, `\ud800`},
		{http.MethodPost, bkt, `{"object_ids":["ok","x\udfff"]}`, `\udfff`},
		{http.MethodPost, bkt, `{"object_ids":["\ud800\ud800"]}`, `\ud800`},
		{http.MethodPost, bkt, `{"object_ids":["\uD800x"]}`, `\uD800`},
		{http.MethodPost, bkt, "{\"object_ids\":[\"a\xffb\"]}", "\xff"},
		{http.MethodPost, bkt, "{\"object_ids\":[\"é\xed\xa0\x80\"]}", "\xed"},
		{http.MethodPost, objects, `{"object_ids":["\udc00"]}`, `\udc00`},
		{http.MethodPatch, bkt + "/" + d.BatchID, `{"metadata":{"k":"\ud800"}}`, `\ud800`},
		{http.MethodPatch, bkt + "/" + d.BatchID, "{\"metadata\":{\"\xc3\":1}}", "\xc3"},
		{http.MethodPost, bkt + "/list", `{"collection_id":"\ud800"}`, `\ud800`},
		{http.MethodPost, bkt + "/" + d.BatchID + "/submit", `{"include_processing_history":"\ud800"}`, `\ud800`},
		{http.MethodPost, bkt, `{"x":"\ud800","object_ids":["\udc01"]}`, `\udc01`},
		{http.MethodPost, bkt, "{\"x\":\"\xff\",\"object_ids\":[\"\xfe\"]}", "\xfe"},
		{http.MethodPost, "/v1/tasks/list", `{"search":"\ud800"}`, `\ud800`},
	} {
		want := surrogate(c.body, c.bad)
		if !strings.HasPrefix(c.bad, `\`) {
			want = notUTF8(c.body, c.bad)
		}
		wantValidation(t, f.call(c.method, c.path, c.body, false), want)
	}
	if after := f.totals(); after[""] != before[""] {
		t.Errorf("batches %d, were %d", after[""], before[""])
	}
	if b, _ := f.getBatch(d.BatchID); len(b.ObjectIDs) != 1 || len(b.Metadata) != 0 {
		t.Errorf("the batch changed: %+v", b)
	}
	// What shaping drops unread (a field the contract does not have) is
	// not looked at, as pydantic ignores it.
	before = f.totals()
	ok[domain.Batch](f, http.MethodPost, bkt, "{\"x\":\"\\ud800\xff\",\"object_ids\":[\"obj_x\"]}")
	if after := f.totals(); after[""] != before[""]+1 {
		t.Errorf("batches %d, were %d", after[""], before[""])
	}
	// Text: a whole pair, an escaped backslash, U+FFFD itself.
	b, _ := ok[domain.Batch](f, http.MethodPost, bkt, `{"object_ids":["\ud83d\ude00","\\ud800","\ufffd","`+"\uFFFD"+`x"]}`)
	if want := []string{"😀", `\ud800`, "\uFFFD", "\uFFFDx"}; len(b.ObjectIDs) != 4 || b.ObjectIDs[0] != want[0] || b.ObjectIDs[1] != want[1] || b.ObjectIDs[2] != want[2] || b.ObjectIDs[3] != want[3] {
		t.Errorf("object_ids %q, want %q", b.ObjectIDs, want)
	}
}
