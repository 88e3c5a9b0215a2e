package api_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/mixpeekgo/batches"
	"github.com/mixpeekgo/batches/api"
	"github.com/mixpeekgo/batches/api/internal/storetest"
)

// chromium returns the headless browser of the test: BATCHES_CHROMIUM
// (.ci/with-chromium sets it), or chromium in PATH. Without one the test
// is skipped, but not in CI (CI set), whose .ci/run installs it.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("BATCHES_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no chromium: install Debian's chromium package, or run under .ci/with-chromium (which installs it), or set BATCHES_CHROMIUM"
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// TestDocsPageInChromium opens /docs in headless Chromium, as a person
// would: the page renders the List Batches operation and the TaskStatus
// values from the embedded contract, the console shows no error, and the
// page asks nothing of any other origin (it works offline). It saves a
// screenshot as docs.png in BATCHES_SCREENSHOT_DIR when that is set.
func TestDocsPageInChromium(t *testing.T) {
	bin := chromium(t)
	h, err := api.NewHandler(storetest.SQLite.Open(t), api.WithCompression(api.CompressionAuto))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(bin),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 1000),
	)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()

	// Every request the page makes, and every console message.
	var (
		mu       sync.Mutex
		requests []string
		messages []chromedp.ConsoleMessage
	)
	console := chromedp.Console(bctx)
	if err := chromedp.Listen(bctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			mu.Lock()
			requests = append(requests, e.Request.URL)
			mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}
	go func() {
		for m, err := range console {
			if err != nil {
				return
			}
			mu.Lock()
			messages = append(messages, m)
			mu.Unlock()
		}
	}()

	var text string
	err = chromedp.Do(bctx,
		// The operation's link, as a reader following one would: with more
		// than one tag Redoc shows them collapsed.
		chromedp.Navigate(srv.URL+"/docs#tag/Bucket-Batches/operation/listBatches"),
		chromedp.WaitVisible(chromedp.CSS(`#redoc h1`)),
		// The operation's own path: the introduction names List Batches
		// before the operation has rendered.
		waitForText(`/v1/buckets/{bucket_identifier}/batches/list`),
	)
	if err != nil {
		t.Fatalf("the page did not render the operation: %v", err)
	}
	text, err = chromedp.Run(bctx, chromedp.Evaluate[string](`document.body.innerText`))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Mixpeek Bucket Batches API", "List Batches", "/v1/buckets/{bucket_identifier}/batches/list"} {
		if !strings.Contains(text, want) {
			t.Errorf("the page does not show %q", want)
		}
	}
	// The TaskStatus values: the schema of the request's status field.
	var want []string
	for _, st := range batches.TaskStatuses() {
		want = append(want, string(st))
	}
	wantJSON, _ := json.Marshal(want)
	statusText, err := chromedp.Run(bctx, chromedp.Evaluate[string]("("+expandEnumsJS+")("+string(wantJSON)+")", chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range batches.TaskStatuses() {
		if !strings.Contains(statusText, string(s)) {
			t.Errorf("the page does not show the status %s", s)
		}
	}

	if dir := os.Getenv("BATCHES_SCREENSHOT_DIR"); dir != "" {
		png, err := chromedp.Run(bctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "docs.png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Late messages (a failed worker, a blocked request) have come by now:
	// the operation rendered after the page's own scripts ran.
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`new Promise(r => setTimeout(() => r(true), 500))`, chromedp.EvalAwaitPromise)); err != nil {
		t.Fatal(err)
	}
	cancelBrowser()

	mu.Lock()
	defer mu.Unlock()
	for _, m := range messages {
		t.Logf("console %s: %s", m.Type, m.Text)
		if m.Type == "error" || m.IsException() {
			t.Errorf("console error: %s (%s:%d)", m.Text, m.URL, m.Line)
		}
	}
	origin, _ := url.Parse(srv.URL)
	for _, r := range requests {
		u, err := url.Parse(r)
		if err != nil || (u.Host != origin.Host && u.Scheme != "data" && u.Scheme != "blob") {
			t.Errorf("the page asked another origin: %s", r)
		}
	}
	if len(requests) < 3 {
		t.Errorf("requests seen: %v; want the page, its scripts and the contract", requests)
	}
}

// waitForText waits until the page's text holds s.
func waitForText(s string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Poll[bool](`document.body.innerText.includes(`+jsString(s)+`)`)(ctx, t)
		return err
	})
}

func jsString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// expandEnumsJS is a function of the texts wanted that presses every
// "+ Show" and "+3 more" of the operation's schemas (Redoc shows the first
// ten values of a long enum only) until the page holds them all, or for
// 15 s, and returns the page's text.
const expandEnumsJS = `async (want) => {
  const deadline = Date.now() + 15000;
  while (Date.now() < deadline) {
    const text = document.body.innerText;
    if (want.every(w => text.includes(w))) return text;
    const more = [...document.querySelectorAll('button, a, span')].filter(e =>
      /^\+?\s*(\d+\s+)?(show|more|expand)/i.test((e.innerText || '').trim()) && (e.innerText || '').length < 40);
    more.forEach(e => e.click());
    await new Promise(r => setTimeout(r, 250));
  }
  return document.body.innerText;
}`
