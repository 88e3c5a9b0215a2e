package main

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/mixpeekgo/batches"
)

// snippetBytes is how much of a body that is not the API's JSON is shown.
const snippetBytes = 200

// describeAnswer turns an answer other than 2xx, as the client read it,
// into the lines to print after "error: ":
//
//   - Mixpeek's ErrorResponse (Type set): "<message> (<type>, HTTP <status>)";
//   - a 422 HTTPValidationError (Detail set): one line per item,
//     "<loc joined by .>: <msg> (<type>)";
//   - any other body (a proxy's page, another server's error):
//     "HTTP <status>: <its first 200 bytes>", or "HTTP <status> (empty body)".
func describeAnswer(e *batches.Error) []string {
	switch {
	case e.Type != "":
		return []string{fmt.Sprintf("%s (%s, HTTP %d)", clean(e.Message), clean(e.Type), e.StatusCode)}
	case len(e.Detail) > 0:
		lines := make([]string, len(e.Detail))
		for i, d := range e.Detail {
			lines[i] = clean(d.String())
		}
		return lines
	case len(strings.TrimSpace(string(e.RawBody))) == 0:
		return []string{fmt.Sprintf("HTTP %s (empty body)", statusLine(e.StatusCode))}
	}
	return []string{fmt.Sprintf("HTTP %s: %s", statusLine(e.StatusCode), snippet(e.RawBody))}
}

// snippet is the first snippetBytes of body, on one line, safe to print.
func snippet(body []byte) string {
	cut := len(body) > snippetBytes
	if cut {
		body = body[:snippetBytes] // a character split here becomes a space in clean
	}
	s := clean(string(body))
	if cut {
		s += "…"
	}
	return s
}

// clean makes a string from the server safe for one terminal line:
// invalid UTF-8 and control characters (escape sequences, newlines, tabs)
// become spaces, and runs of spaces one.
func clean(s string) string {
	s = strings.ToValidUTF8(s, " ")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.IsSpace(r) {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}
