package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode"

	"github.com/mixpeekgo/batches/generated/client"
)

// snippetBytes is how much of a body that is not the API's JSON is shown.
const snippetBytes = 200

// describeError turns a non-2xx answer into the lines to print after
// "error: ":
//
//   - Mixpeek's ErrorResponse: "<message> (<type>, HTTP <status>)";
//   - a 422 HTTPValidationError: "<loc joined by .>: <msg> (<type>)" per item;
//   - other JSON with a "detail" or "message" string: "<it> (HTTP <status>)";
//   - anything else: "HTTP <status>: <first 200 bytes of the body>".
func describeError(code int, body []byte) []string {
	status := statusLine(code)
	if json.Valid(body) {
		var er client.ErrorResponse
		if json.Unmarshal(body, &er) == nil && er.Error.Message != "" {
			if er.Error.Type != "" {
				return []string{fmt.Sprintf("%s (%s, HTTP %d)", clean(er.Error.Message), clean(er.Error.Type), code)}
			}
			return []string{fmt.Sprintf("%s (HTTP %d)", clean(er.Error.Message), code)}
		}
		var ve client.HTTPValidationError
		if json.Unmarshal(body, &ve) == nil && len(ve.Detail) > 0 {
			lines := make([]string, 0, len(ve.Detail))
			for _, d := range ve.Detail {
				line := clean(d.Msg)
				if loc := joinLoc(d.Loc); loc != "" {
					line = loc + ": " + line
				}
				if d.Type != "" {
					line += " (" + clean(d.Type) + ")"
				}
				lines = append(lines, line)
			}
			return lines
		}
		var other struct {
			Detail  any `json:"detail"`
			Message any `json:"message"`
		}
		if json.Unmarshal(body, &other) == nil {
			for _, v := range []any{other.Detail, other.Message} {
				if s, ok := v.(string); ok && s != "" {
					return []string{fmt.Sprintf("%s (HTTP %d)", clean(s), code)}
				}
			}
		}
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return []string{fmt.Sprintf("HTTP %s (empty body)", status)}
	}
	return []string{fmt.Sprintf("HTTP %s: %s", status, snippet(body))}
}

// joinLoc renders a validation error's loc, ["body","limit"] or
// ["body","items",0], as body.limit or body.items.0.
func joinLoc(loc []client.ValidationError_Loc_Item) string {
	parts := make([]string, 0, len(loc))
	for _, item := range loc {
		if s, err := item.AsValidationErrorLoc0(); err == nil {
			parts = append(parts, clean(s))
		} else if n, err := item.AsValidationErrorLoc1(); err == nil {
			parts = append(parts, fmt.Sprint(n))
		} else if b, err := item.MarshalJSON(); err == nil {
			parts = append(parts, clean(string(b)))
		}
	}
	return strings.Join(parts, ".")
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
