package api

import (
	"compress/gzip"
	"fmt"
	"net/http"

	"github.com/klauspost/compress/gzhttp"
	"github.com/klauspost/compress/zstd"
)

// Compression is how the server compresses its answers, by
// github.com/klauspost/compress/gzhttp: only for a caller whose
// Accept-Encoding accepts it, answers of at least 1 KiB (smaller ones,
// error bodies among them, gain nothing), and never what is compressed
// already (images, audio, video). A compressed answer has Content-Encoding
// and Vary: Accept-Encoding, and no Content-Length.
type Compression string

const (
	// CompressionAuto, batchesd's default, answers zstd to a caller that
	// accepts it and gzip to one that accepts only gzip, at the fastest
	// levels: a page of 1000 batches shrinks about 6 and 5 times, for
	// about 4 ms of CPU either way (README, "Operate it", has the figures).
	CompressionAuto Compression = "auto"
	// CompressionGzip answers gzip only.
	CompressionGzip Compression = "gzip"
	// CompressionOff never compresses: NewHandler's default.
	CompressionOff Compression = "off"
)

// compressionLevelGzip is gzip's level: the fastest. gzhttp's default (5)
// costs about twice its CPU for a few percent fewer bytes, level 9 far more
// (measured on a page of 1000 batches when this was chosen).
const compressionLevelGzip = gzip.BestSpeed

// newCompressor returns the middleware of mode.
func newCompressor(mode Compression) (func(http.Handler) http.Handler, error) {
	var zstdOn bool
	switch mode {
	case CompressionAuto, "":
		zstdOn = true
	case CompressionGzip:
	case CompressionOff:
		return func(h http.Handler) http.Handler { return h }, nil
	default:
		return nil, fmt.Errorf("compression %q: want auto, gzip or off", mode)
	}
	wrap, err := gzhttp.NewWrapper(
		gzhttp.MinSize(gzhttp.DefaultMinSize),
		gzhttp.CompressionLevel(compressionLevelGzip),
		gzhttp.EnableZstd(zstdOn),
		gzhttp.PreferZstd(true),
		gzhttp.ZstdCompressionLevel(int(zstd.SpeedFastest)),
	)
	if err != nil {
		return nil, err
	}
	return func(h http.Handler) http.Handler { return wrap(h) }, nil
}
