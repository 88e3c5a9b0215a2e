package api_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mixpeekgo/batches"
	"github.com/mixpeekgo/batches/api"
	"github.com/mixpeekgo/batches/api/benchmark"
	"github.com/mixpeekgo/batches/api/domain"
	"github.com/mixpeekgo/batches/api/internal/storetest"
)

// The answers of the hostile-clients issue, each exact.

// TestHostileBodies: bodies whose generic decoding used to cost 30 to 90
// times their size answer as they did, each 422 with the value sent as
// input, or the page.
func TestHostileBodies(t *testing.T) {
	f := newFixtureOn(t, storetest.SQLite)
	all := int64(len(f.a.batches))
	for body, want := range map[string]string{
		`[1,2,3]`:                        `{"detail":[{"input":[1,2,3],"loc":["body"],"msg":"Input should be a valid dictionary or object to extract fields from","type":"model_attributes_type"}]}`,
		` [ [ [] ] , 1.50 ] `:            `{"detail":[{"input":[[[]],1.50],"loc":["body"],"msg":"Input should be a valid dictionary or object to extract fields from","type":"model_attributes_type"}]}`,
		`{"limit":[1,2]}`:                `{"detail":[{"input":[1,2],"loc":["body","limit"],"msg":"Input should be a valid integer","type":"int_type"}]}`,
		`{"offset":{"a":[1]},"limit":5}`: `{"detail":[{"input":{"a":[1]},"loc":["body","offset"],"msg":"Input should be a valid integer","type":"int_type"}]}`,
		`{"status":["PENDING"]}`:         `{"detail":[{"ctx":{"expected":"'PENDING', 'IN_PROGRESS', 'PROCESSING', 'COMPLETED', 'COMPLETED_WITH_ERRORS', 'FAILED', 'CANCELED', 'UNKNOWN', 'SKIPPED', 'DRAFT', 'ACTIVE', 'ARCHIVED' or 'SUSPENDED'"},"input":["PENDING"],"loc":["body","status"],"msg":"Input should be 'PENDING', 'IN_PROGRESS', 'PROCESSING', 'COMPLETED', 'COMPLETED_WITH_ERRORS', 'FAILED', 'CANCELED', 'UNKNOWN', 'SKIPPED', 'DRAFT', 'ACTIVE', 'ARCHIVED' or 'SUSPENDED'","type":"enum"}]}`,
		`{"limit":5,"limit":[1]}`:        `{"detail":[{"input":[1],"loc":["body","limit"],"msg":"Input should be a valid integer","type":"int_type"}]}`,
		strings.Repeat("[", 10001) + strings.Repeat("]", 10001): `{"detail":[{"ctx":{"error":"invalid character '[' exceeded max depth"},"input":{},"loc":["body",10000],"msg":"JSON decode error","type":"json_invalid"}]}`,
	} {
		ex := f.do(request{body: str(body)})
		if ex.status != http.StatusUnprocessableEntity || strings.TrimSpace(string(ex.body)) != want {
			t.Errorf("%.80s: %d %.500s\nwant 422 %s", body, ex.status, ex.body, want)
		}
	}
	// Unknown fields are dropped unread, whatever they hold; of a field
	// sent twice the last counts; an escaped name is the field.
	for body, limit := range map[string]int{
		`{"limit":[1,2],"limit":3}`: 3,
		`{"x":` + strings.Repeat("[", 9000) + strings.Repeat("]", 9000) + `,"limit":4}`: 4,
		`{"lim\u0069t":2,"x":{"limit":9}}`:                                              2,
		`{"limit":6,"status":null,"x":"\ud800"}`:                                        6,
	} {
		assertPage(t, f.do(request{body: str(body)}), limit, all)
	}
	for name, body := range benchmark.HostileBodies() {
		ex := f.do(request{body: str(string(body))})
		switch name {
		case "unknown":
			assertPage(t, ex, 10, all)
		default: // over 4 KiB or nested over 32 deep: not repeated
			const want = `{"detail":[{"ctx":{"input_omitted":"the value sent is not repeated: it is over 4096 bytes or nested over 32 deep"},"input":null,"loc":["body"],"msg":"Input should be a valid dictionary or object to extract fields from","type":"model_attributes_type"}]}`
			if ex.status != http.StatusUnprocessableEntity || strings.TrimSpace(string(ex.body)) != want {
				t.Errorf("%s: %d %.300s\nwant 422 %s", name, ex.status, ex.body, want)
			}
		}
	}
}

// blockingStore is a store whose ListBatches waits, once entered (it
// says so on entered), until release is closed.
type blockingStore struct {
	domain.Store
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

func (s *blockingStore) ListBatches(ctx context.Context, p domain.ListParams, dst []byte) ([]byte, int64, error) {
	s.once.Do(func() {
		close(s.entered)
		<-s.release
	})
	return s.Store.ListBatches(ctx, p, dst)
}

// plainDo sends a List Batches request of body for key's bucket bkt_a
// outside the contract check and returns its status, headers and body.
func plainDo(t *testing.T, url, key, body string) (int, http.Header, string) {
	t.Helper()
	return listRaw(t, url, key, "bkt_a", body)
}

// TestAdmission: beyond the requests in flight a request waits, then
// answers 503 with Retry-After; it is served once a slot is free.
func TestAdmission(t *testing.T) {
	f := newFixtureOn(t, storetest.SQLite)
	store := &blockingStore{Store: f.db, entered: make(chan struct{}), release: make(chan struct{})}
	h, err := api.NewHandler(store, api.WithMaxInFlight(1, 0))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	first := make(chan int, 1)
	go func() {
		status, _, _ := plainDo(t, srv.URL, f.a.key, `{"limit":1}`)
		first <- status
	}()
	<-store.entered // the first holds the only slot
	status, header, body := plainDo(t, srv.URL, f.a.key, `{"limit":1}`)
	const want = `{"error":{"details":{"max_in_flight":1,"retry_after_seconds":1},"message":"The server is busy: 1 requests are being served and more are waiting; try again in 1 s","type":"ServiceUnavailableError"},"status":503,"success":false}`
	if status != http.StatusServiceUnavailable || header.Get("Retry-After") != "1" || strings.TrimSpace(body) != want {
		t.Errorf("beyond the slots: %d, Retry-After %q, %s\nwant 503, Retry-After 1, %s", status, header.Get("Retry-After"), body, want)
	}
	close(store.release)
	if s := <-first; s != http.StatusOK {
		t.Errorf("the first request: %d", s)
	}
	if status, _, _ := plainDo(t, srv.URL, f.a.key, `{"limit":1}`); status != http.StatusOK {
		t.Errorf("once the slot is free: %d", status)
	}
}

// blockingWriter is a connection whose writes of the body wait until
// release is closed; entered is closed at the first.
type blockingWriter struct {
	header  http.Header
	entered chan struct{}
	release chan struct{}
	once    sync.Once
	n       int
}

func (w *blockingWriter) Header() http.Header { return w.header }
func (w *blockingWriter) WriteHeader(int)     {}
func (w *blockingWriter) Write(b []byte) (int, error) {
	w.once.Do(func() { close(w.entered); <-w.release })
	w.n += len(b)
	return len(b), nil
}

func listRequest(key, body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/v1/buckets/bkt_a/batches/list", strings.NewReader(body))
	r.Header.Set("Authorization", "Bearer "+key)
	r.Header.Set("X-Namespace", "production")
	r.Header.Set("Content-Type", "application/json")
	return r
}

// TestAnswerMemory: while answers over 64 KiB being written hold the
// answer memory, another such answer is 503 with Retry-After (a small one
// is not counted), and is served once it is free; a slot in flight is not
// held while an answer is written.
func TestAnswerMemory(t *testing.T) {
	f := newFixtureOn(t, storetest.SQLite)
	h, err := api.NewHandler(f.db, api.WithAnswerMemory(100<<10), api.WithMaxInFlight(1, 0))
	if err != nil {
		t.Fatal(err)
	}
	big := `{"limit":1000}` // 250 batches, about 80 KB
	slow := &blockingWriter{header: http.Header{}, entered: make(chan struct{}), release: make(chan struct{})}
	done := make(chan struct{})
	go func() { h.ServeHTTP(slow, listRequest(f.a.key, big)); close(done) }()
	<-slow.entered

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, listRequest(f.a.key, big))
	const want = `{"error":{"details":{"answer_memory_bytes":102400,"retry_after_seconds":1},"message":"The server is busy: the answers being made and written hold its 102400 bytes for them; try again in 1 s","type":"ServiceUnavailableError"},"status":503,"success":false}`
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "1" || strings.TrimSpace(rec.Body.String()) != want {
		t.Errorf("answer memory held: %d %q %s\nwant 503 %s", rec.Code, rec.Header().Get("Retry-After"), rec.Body, want)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, listRequest(f.a.key, `{"limit":10}`))
	if rec.Code != http.StatusOK {
		t.Errorf("a small answer while the memory is held: %d %s", rec.Code, rec.Body)
	}
	close(slow.release)
	<-done
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, listRequest(f.a.key, big))
	if rec.Code != http.StatusOK || rec.Body.Len() < 64<<10 {
		t.Errorf("once the memory is free: %d, %d bytes", rec.Code, rec.Body.Len())
	}
}

// TestSlowReaderCutOff: a client that does not read a large answer is cut
// off by the write timeout (its connection closed, the cut logged at
// Info), and the server goes on serving.
func TestSlowReaderCutOff(t *testing.T) {
	f := newFixtureOn(t, storetest.SQLite)
	// 300 batches of about 20 KB: a page of 6 MB, more than the sockets
	// of the loopback buffer.
	ns, err := f.db.CreateNamespace(t.Context(), f.a.org.ID, "large")
	if err != nil {
		t.Fatal(err)
	}
	bucket, err := f.db.CreateBucket(t.Context(), ns.ID, "large", "bkt_large")
	if err != nil {
		t.Fatal(err)
	}
	pad := strings.Repeat("x", 15000)
	bs := make([]domain.Batch, 300)
	for i := range bs {
		at := time.Date(2025, 1, 1, 0, 0, i, 0, time.UTC)
		bs[i] = domain.Batch{BatchID: fmt.Sprintf("btch_large%04d", i), Status: batches.TaskStatusCompleted, Type: batches.BatchTypeBucket,
			TotalTiers: 1, CreatedAt: at, UpdatedAt: at, Metadata: map[string]any{"pad": pad}}
	}
	if err := f.db.InsertBatches(t.Context(), bucket.ID, bs); err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	h, err := api.NewHandler(f.db, api.WithWriteTimeout(100*time.Millisecond), api.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.(*net.TCPConn).SetReadBuffer(4096)
	body := `{"limit":1000}`
	fmt.Fprintf(conn, "POST /v1/buckets/bkt_large/batches/list HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nX-Namespace: large\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", f.a.key, len(body), body)
	for !strings.Contains(logs.String(), "answer cut off") {
		time.Sleep(10 * time.Millisecond) // waits for the event; no bound asserted
	}
	if status, _, _ := plainDo(t, srv.URL, f.a.key, `{"limit":1}`); status != http.StatusOK {
		t.Errorf("after the cut: %d", status)
	}
}

// TestHeaderLimit: request line and headers over the handler's limit
// answer 431 as an ErrorResponse; those over net/http's own limit too,
// through NewListener. Every answer, the handler's and the refusals
// NewListener rewrites, carries a Date and an X-Request-Id that its log
// line names.
func TestHeaderLimit(t *testing.T) {
	f := newFixtureOn(t, storetest.SQLite)
	var logs syncBuffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	h, err := api.NewHandler(f.db, api.WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener = api.NewListener(srv.Listener, 0, api.WithLogger(log))
	srv.Config = api.NewHTTPServer("", h, slog.New(slog.DiscardHandler))
	srv.Start()
	defer srv.Close()
	addr := srv.Listener.Addr().String()

	for _, tc := range []struct{ name, raw, want string }{
		{"over the handler's 16 KiB", "POST /v1/buckets/bkt_a/batches/list HTTP/1.1\r\nHost: x\r\nX-Pad: " + strings.Repeat("p", 20000) + "\r\n\r\n",
			"HTTP/1.1 431 Request Header Fields Too Large\r\n" +
				`{"error":{"details":{"max_bytes":16384},"message":"Request line and headers are larger than 16384 bytes","type":"RequestHeaderFieldsTooLargeError"},"status":431,"success":false}`},
		{"over net/http's 64 KiB", "POST /v1/buckets/bkt_a/batches/list HTTP/1.1\r\nHost: x\r\nX-Pad: " + strings.Repeat("p", 80000) + "\r\n\r\n",
			"HTTP/1.1 431 Request Header Fields Too Large\r\n" +
				`{"error":{"details":{"max_bytes":65536,"net_http_status":431},"message":"Request line and headers are larger than 65536 bytes","type":"RequestHeaderFieldsTooLargeError"},"status":431,"success":false}`},
		{"HTTP/2.0 request line", "GET / HTTP/2.0\r\nHost: x\r\n\r\n",
			"HTTP/1.1 400 Bad Request\r\n" +
				`{"error":{"details":{"net_http_status":505},"message":"Unsupported HTTP version: this server speaks HTTP/1.0 and HTTP/1.1","type":"BadRequestError"},"status":400,"success":false}`},
		{"HTTP/2.0 to an operator endpoint", "GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n",
			"HTTP/1.1 400 Bad Request\r\n" +
				`{"error":{"details":{"net_http_status":505},"message":"Unsupported HTTP version: this server speaks HTTP/1.0 and HTTP/1.1","type":"BadRequestError"},"status":400,"success":false}`},
		{"HTTP/0.9 request line", "GET / HTTP/0.9\r\nHost: x\r\n\r\n",
			"HTTP/1.1 400 Bad Request\r\n" +
				`{"error":{"details":{"net_http_status":505},"message":"Unsupported HTTP version: this server speaks HTTP/1.0 and HTTP/1.1","type":"BadRequestError"},"status":400,"success":false}`},
		{"HTTP/3.1 request line", "POST /v1/buckets/bkt_a/batches/list HTTP/3.1\r\nHost: x\r\n\r\n",
			"HTTP/1.1 400 Bad Request\r\n" +
				`{"error":{"details":{"net_http_status":505},"message":"Unsupported HTTP version: this server speaks HTTP/1.0 and HTTP/1.1","type":"BadRequestError"},"status":400,"success":false}`},
		{"HTTP/1.2 request line, which net/http lets through", "POST /v1/buckets/bkt_a/batches/list HTTP/1.2\r\nHost: x\r\n\r\n",
			"HTTP/1.1 400 Bad Request\r\n" +
				`{"error":{"details":{"proto":"HTTP/1.2"},"message":"Unsupported HTTP version: this server speaks HTTP/1.0 and HTTP/1.1","type":"BadRequestError"},"status":400,"success":false}`},
		{"HTTP/1.9 to an operator endpoint", "GET /healthz HTTP/1.9\r\nHost: x\r\n\r\n",
			"HTTP/1.1 400 Bad Request\r\n" +
				`{"error":{"details":{"proto":"HTTP/1.9"},"message":"Unsupported HTTP version: this server speaks HTTP/1.0 and HTTP/1.1","type":"BadRequestError"},"status":400,"success":false}`},
		{"a bad escape", "GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n",
			"HTTP/1.1 400 Bad Request\r\n" +
				`{"error":{"details":{"net_http_status":400},"message":"Malformed request line or headers","type":"BadRequestError"},"status":400,"success":false}`},
		{"no Host", "GET / HTTP/1.1\r\n\r\n",
			"HTTP/1.1 400 Bad Request\r\n" +
				`{"error":{"details":{"net_http_status":400},"message":"Malformed request line or headers: missing required Host header","type":"BadRequestError"},"status":400,"success":false}`},
		{"a transfer coding net/http lacks", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
			"HTTP/1.1 400 Bad Request\r\n" +
				`{"error":{"details":{"net_http_status":501},"message":"Unsupported Transfer-Encoding: only chunked is understood","type":"BadRequestError"},"status":400,"success":false}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := time.Now().Truncate(time.Second)
			status, body, header := rawExchange(t, addr, tc.raw)
			if got := status + "\r\n" + body; got != tc.want {
				t.Errorf("answer\n%s\nwant\n%s", got, tc.want)
			}
			id := header.Get("X-Request-Id")
			if !requestIDRe.MatchString(id) {
				t.Errorf("X-Request-Id %q", id)
			}
			if d, err := http.ParseTime(header.Get("Date")); err != nil || d.Before(before) || d.After(time.Now()) ||
				header.Get("Date") != d.Format(http.TimeFormat) {
				t.Errorf("Date %q (%v)", header.Get("Date"), err)
			}
			if !strings.Contains(tc.want, "net_http_status") {
				// The handler's answer: its log line has the id.
				waitLog(t, &logs, `"request_id":"`+id+`"`)
				return
			}
			// A refusal of net/http: exactly these headers, and a log line
			// of its own at Info.
			var e errorBody
			if err := json.Unmarshal([]byte(body), &e); err != nil {
				t.Fatal(err)
			}
			want := fmt.Sprintf("%s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nDate: %s\r\nX-Request-Id: %s\r\nConnection: close\r\n\r\n",
				status, len(body)+1, header.Get("Date"), id)
			if head := header.Get(rawHead); head != want {
				t.Errorf("head\n%q\nwant\n%q", head, want)
			}
			line := waitLog(t, &logs, `"request_id":"`+id+`"`)
			wantLine := fmt.Sprintf(`"level":"INFO","msg":"request refused by net/http","request_id":"%s","status":%d,"net_http_status":%v,"message":%q}`,
				id, e.Status, e.Error.Details["net_http_status"], e.Error.Message)
			if !strings.HasSuffix(line, wantLine) {
				t.Errorf("log line\n%s\nwant it to end\n%s", line, wantLine)
			}
		})
	}
}

// requestIDRe is a request id the server made.
var requestIDRe = regexp.MustCompile(`^req_[A-Z2-7]{26}$`)

// waitLog waits for the line of logs that has s, and returns it.
func waitLog(t *testing.T, logs *syncBuffer, s string) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		for line := range strings.Lines(logs.String()) {
			if strings.Contains(line, s) {
				return strings.TrimSuffix(line, "\n")
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log line has %s:\n%s", s, logs.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// rawHead is the header in which rawExchange gives the status line and
// headers as they came, up to the empty line.
const rawHead = "X-Test-Raw-Head"

// rawExchange sends raw on a new connection and returns the status line,
// the body and the headers of the answer, which must be
// application/json; its header rawHead has them as they came.
func rawExchange(t *testing.T, addr, raw string) (status, body string, header http.Header) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	go func() { _, _ = io.WriteString(conn, raw) }()
	var head bytes.Buffer
	br := bufio.NewReader(conn)
	for {
		line, err := br.ReadString('\n')
		head.WriteString(line)
		if err != nil {
			t.Fatalf("%v after %q", err, head.String())
		}
		if line == "\r\n" {
			break
		}
	}
	resp, err := http.ReadResponse(bufio.NewReader(io.MultiReader(bytes.NewReader(head.Bytes()), br)), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Header.Set(rawHead, head.String())
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	return fmt.Sprintf("HTTP/1.1 %s", resp.Status), strings.TrimSpace(string(b)), resp.Header
}

// TestLargeScalars: a string or number over 4 KiB, as a field's value or
// as the body, fails validation as it did (it is replaced by a short
// stand-in that fails alike) and is not repeated as the error's input;
// numbers sent as floats are given back as pydantic gives them, 2000.0.
func TestLargeScalars(t *testing.T) {
	f := newFixtureOn(t, storetest.SQLite)
	all := int64(len(f.a.batches))
	const omitted = `"input_omitted":"the value sent is not repeated: it is over 4096 bytes or nested over 32 deep"`
	const expected = `'PENDING', 'IN_PROGRESS', 'PROCESSING', 'COMPLETED', 'COMPLETED_WITH_ERRORS', 'FAILED', 'CANCELED', 'UNKNOWN', 'SKIPPED', 'DRAFT', 'ACTIVE', 'ARCHIVED' or 'SUSPENDED'`
	scalars := benchmark.LargeScalarBodies()
	zeros := strings.Repeat("0", 5000)
	for body, want := range map[string]string{
		string(scalars["status"]):                                                         `{"detail":[{"ctx":{"expected":"` + expected + `",` + omitted + `},"input":null,"loc":["body","status"],"msg":"Input should be ` + expected + `","type":"enum"}]}`,
		string(scalars["limit"]):                                                          `{"detail":[{"ctx":{` + omitted + `},"input":null,"loc":["body","limit"],"msg":"Input should be a finite number","type":"finite_number"}]}`,
		string(scalars["string"]):                                                         `{"detail":[{"ctx":{` + omitted + `},"input":null,"loc":["body"],"msg":"Input should be a valid dictionary or object to extract fields from","type":"model_attributes_type"}]}`,
		`{"collection_id":"` + strings.Repeat("c", 129) + `"}`:                            `{"detail":[{"ctx":{"max_length":128},"input":"` + strings.Repeat("c", 129) + `","loc":["body","collection_id"],"msg":"String should have at most 128 characters","type":"string_too_long"}]}`,
		`{"collection_id":"` + strings.Repeat("c", 5000) + `"}`:                           `{"detail":[{"ctx":{` + omitted + `,"max_length":128},"input":null,"loc":["body","collection_id"],"msg":"String should have at most 128 characters","type":"string_too_long"}]}`,
		`{"limit":"` + strings.Repeat("9", 5000) + `"}`:                                   `{"detail":[{"ctx":{` + omitted + `},"input":null,"loc":["body","limit"],"msg":"Input should be a valid integer","type":"int_type"}]}`,
		`{"offset":-` + strings.Repeat("9", 5000) + `}`:                                   `{"detail":[{"ctx":{` + omitted + `},"input":null,"loc":["body","offset"],"msg":"Input should be a finite number","type":"finite_number"}]}`,
		`{"limit":0.` + zeros + `1}`:                                                      `{"detail":[{"ctx":{"ge":1,` + omitted + `},"input":null,"loc":["body","limit"],"msg":"Input should be greater than or equal to 1","type":"greater_than_equal"}]}`,
		`{"limit":1` + zeros + `.5}`:                                                      `{"detail":[{"ctx":{` + omitted + `},"input":null,"loc":["body","limit"],"msg":"Input should be a finite number","type":"finite_number"}]}`,
		`{"limit":2.5` + zeros + `}`:                                                      `{"detail":[{"ctx":{` + omitted + `},"input":null,"loc":["body","limit"],"msg":"Input should be a valid integer, got a number with a fractional part","type":"int_from_float"}]}`,
		`{"limit":12` + zeros + `e-4990}`:                                                 `{"detail":[{"ctx":{` + omitted + `,"le":1000},"input":null,"loc":["body","limit"],"msg":"Input should be less than or equal to 1000","type":"less_than_equal"}]}`,
		`   ` + string(scalars["limit"][len(`{"limit":`):len(scalars["limit"])-1]) + "\n": `{"detail":[{"ctx":{` + omitted + `},"input":null,"loc":["body"],"msg":"Input should be a valid dictionary or object to extract fields from","type":"model_attributes_type"}]}`,
		// pydantic (2.13) reads these through Python's json as floats,
		// and gives them back so.
		`{"limit":0.` + strings.Repeat("0", 400) + `1}`: `{"detail":[{"ctx":{"ge":1},"input":0.0,"loc":["body","limit"],"msg":"Input should be greater than or equal to 1","type":"greater_than_equal"}]}`,
		`{"limit":1e-400}`:  `{"detail":[{"ctx":{"ge":1},"input":0.0,"loc":["body","limit"],"msg":"Input should be greater than or equal to 1","type":"greater_than_equal"}]}`,
		`{"limit":-1e-400}`: `{"detail":[{"ctx":{"ge":1},"input":-0.0,"loc":["body","limit"],"msg":"Input should be greater than or equal to 1","type":"greater_than_equal"}]}`,
		`{"limit":2000.0}`:  `{"detail":[{"ctx":{"le":1000},"input":2000.0,"loc":["body","limit"],"msg":"Input should be less than or equal to 1000","type":"less_than_equal"}]}`,
		`{"limit":1E4}`:     `{"detail":[{"ctx":{"le":1000},"input":10000.0,"loc":["body","limit"],"msg":"Input should be less than or equal to 1000","type":"less_than_equal"}]}`,
		`{"offset":-1.0}`:   `{"detail":[{"ctx":{"ge":0},"input":-1.0,"loc":["body","offset"],"msg":"Input should be greater than or equal to 0","type":"greater_than_equal"}]}`,
		`{"limit":0.00001}`: `{"detail":[{"input":1e-05,"loc":["body","limit"],"msg":"Input should be a valid integer, got a number with a fractional part","type":"int_from_float"}]}`,
		`{"limit":5.5}`:     `{"detail":[{"input":5.5,"loc":["body","limit"],"msg":"Input should be a valid integer, got a number with a fractional part","type":"int_from_float"}]}`,
		`{"limit":1e400}`:   `{"detail":[{"input":"1e400","loc":["body","limit"],"msg":"Input should be a finite number","type":"finite_number"}]}`,
		`{"limit":0}`:       `{"detail":[{"ctx":{"ge":1},"input":0,"loc":["body","limit"],"msg":"Input should be greater than or equal to 1","type":"greater_than_equal"}]}`,
	} {
		ex := f.do(request{body: str(body)})
		if ex.status != http.StatusUnprocessableEntity || strings.TrimSpace(string(ex.body)) != want {
			t.Errorf("%.60s…: %d %.600s\nwant 422 %s", body, ex.status, ex.body, want)
		}
	}
	// Valid values of over 4 KiB read as they did.
	for body, limit := range map[string]int{
		`{"limit":1.` + zeros + `}`:                    1,
		`{"limit":2.` + zeros + `1}`:                   2,
		`{"limit":0.` + zeros + `7e5001,"offset":0.0}`: 7,
	} {
		assertPage(t, f.do(request{body: str(body)}), limit, all)
	}
	// Parameters too: repeated up to 4 KiB, as pydantic repeats them.
	for n, input := range map[int]string{129: `"` + strings.Repeat("n", 129) + `"`, 5000: "null"} {
		ex := f.do(request{headers: map[string][]string{"X-Namespace": {strings.Repeat("n", n)}}})
		ctx := `{"max_length":128}`
		if n > 4096 {
			ctx = `{` + omitted + `,"max_length":128}`
		}
		want := `{"detail":[{"ctx":` + ctx + `,"input":` + input + `,"loc":["header","x-namespace"],"msg":"String should have at most 128 characters","type":"string_too_long"}]}`
		if ex.status != http.StatusUnprocessableEntity || strings.TrimSpace(string(ex.body)) != want {
			t.Errorf("X-Namespace of %d: %d %.600s\nwant 422 %s", n, ex.status, ex.body, want)
		}
	}
	// A field without a bound of its own: the stand-in is a string, as
	// the value was.
	ex := f.do(request{method: http.MethodPost, path: "/v1/tasks/list", body: str(`{"search":"` + strings.Repeat("s", 5000) + `"}`)})
	if e := assertErrorResponse(t, ex, http.StatusBadRequest, "BadRequestError"); !strings.Contains(e.Error.Message, "search is not supported") {
		t.Errorf("search: %s", ex.body)
	}
}
