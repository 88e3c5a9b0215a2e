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
// into the lines to print after "error: ", each naming the request id the
// server sent, if any (it leads to the server's log line):
//
//   - Mixpeek's ErrorResponse (Type set): "<message> (<type>, HTTP
//     <status>, request id <id>)";
//   - a 422 HTTPValidationError (Detail set): one line per item,
//     "<loc joined by .>: <msg> (<type>)", then "HTTP 422 Unprocessable
//     Entity (request id <id>)" when there is one;
//   - any other body (a proxy's page, another server's error):
//     "HTTP <status>: <its first 200 bytes> (request id <id>)", or
//     "HTTP <status> (empty body, request id <id>)".
func describeAnswer(e *batches.Error) []string {
	id := ""
	if e.RequestID != "" {
		id = "request id " + clean(e.RequestID)
	}
	switch {
	case e.Type != "":
		return []string{fmt.Sprintf("%s (%s)", clean(e.Message), strings.Join(nonEmpty(clean(e.Type), fmt.Sprintf("HTTP %d", e.StatusCode), id), ", "))}
	case len(e.Detail) > 0:
		lines := make([]string, len(e.Detail))
		for i, d := range e.Detail {
			lines[i] = clean(d.String())
		}
		if id != "" {
			lines = append(lines, fmt.Sprintf("HTTP %s (%s)", statusLine(e.StatusCode), id))
		}
		return lines
	case len(strings.TrimSpace(string(e.RawBody))) == 0:
		return []string{fmt.Sprintf("HTTP %s (%s)", statusLine(e.StatusCode), strings.Join(nonEmpty("empty body", id), ", "))}
	}
	return []string{withRequestID(fmt.Sprintf("HTTP %s: %s", statusLine(e.StatusCode), snippet(e.RawBody)), e)}
}

// withRequestID is line with the request id of e's answer at its end, in
// parentheses, when the server sent one.
func withRequestID(line string, e *batches.Error) string {
	if e.RequestID == "" {
		return line
	}
	return line + " (request id " + clean(e.RequestID) + ")"
}

// nonEmpty is those of s that are not "".
func nonEmpty(s ...string) []string {
	var out []string
	for _, x := range s {
		if x != "" {
			out = append(out, x)
		}
	}
	return out
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
