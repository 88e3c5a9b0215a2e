package batches

import (
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Every request asks for a gzip-compressed answer (Accept-Encoding: gzip,
// set in wire), which shrinks a page of 1000 batches about 3 times. Go's
// http.Transport would ask and decompress by itself, but only when the
// request names no encoding and only in its own transport (not one with
// DisableCompression, nor another RoundTripper); asking here works over any
// transport. do undoes the compression where the transport would have:
// middleware, the retry loop and errors see the answer's plain body, without
// Content-Encoding and Content-Length, with Uncompressed set.

// do sends req with the call's HTTP client and decompresses a gzip answer.
func (d *doer) do(req *http.Request) (*http.Response, error) {
	resp, err := d.hc.Do(req)
	if err != nil || resp == nil || resp.Body == nil || req.Method == http.MethodHead ||
		!strings.EqualFold(strings.TrimSpace(resp.Header.Get("Content-Encoding")), "gzip") {
		return resp, err
	}
	resp.Body = &gzipBody{body: resp.Body}
	resp.Header.Del("Content-Encoding")
	resp.Header.Del("Content-Length")
	resp.ContentLength = -1
	resp.Uncompressed = true
	return resp, nil
}

// gzipBody decompresses body, reading gzip's header on the first Read (so
// that an empty body, as a 204 or 304 has, is no error until read).
type gzipBody struct {
	body io.ReadCloser
	zr   *gzip.Reader
	err  error
}

func (g *gzipBody) Read(p []byte) (int, error) {
	if g.zr == nil && g.err == nil {
		g.zr, g.err = gzip.NewReader(g.body)
		if g.err != nil {
			g.err = fmt.Errorf("decompressing the answer (Content-Encoding: gzip): %w", g.err)
		}
	}
	if g.err != nil {
		return 0, g.err
	}
	n, err := g.zr.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("decompressing the answer (Content-Encoding: gzip): %w", err)
	}
	return n, err
}

func (g *gzipBody) Close() error { return g.body.Close() }
