package domain

import (
	"errors"
	"fmt"
	"strings"
)

// The kinds of failure a caller may answer differently from a storage
// failure: errors.Is(err, ErrNotFound) and so on. The methods of [Store]
// and [Admin] say which they wrap and when.
var (
	// ErrNotFound: what was asked for does not exist, or belongs to
	// another organization; the two are never told apart.
	ErrNotFound = errors.New("not found")

	// ErrInvalid: an argument is refused: an empty or badly formed name,
	// id or key, a batch that breaks the Batch schema, a negative offset.
	ErrInvalid = errors.New("invalid argument")

	// ErrAlreadyExists: an id, name or key to create is already taken.
	ErrAlreadyExists = errors.New("already exists")
)

// The errors of [Store.ResolveBucket], both wrapping [ErrNotFound].
var (
	ErrNamespaceNotFound = fmt.Errorf("namespace %w", ErrNotFound)
	ErrBucketNotFound    = fmt.Errorf("bucket %w", ErrNotFound)
)

// ErrInvalidUTF8 is wrapped by the errors about a string that is not valid
// UTF-8 ([BatchJSON], [CheckBatch]), which JSON would silently turn into
// U+FFFD.
var ErrInvalidUTF8 = errors.New("string is not valid UTF-8")

// Error is a failure to tell the client of the API as it is: its kind
// ([ErrNotFound], [ErrInvalid] or [ErrAlreadyExists], which it wraps), a
// message for people and details for programs. Package api answers it with
// the status of its kind and an ErrorResponse of Message and Details; it
// answers any other error with a 500 that shows nothing of it.
type Error struct {
	Kind    error          // ErrNotFound, ErrInvalid or ErrAlreadyExists
	Message string         // e.g. "Namespace not found: production"
	Details map[string]any // e.g. {"resource": "namespace", "identifier": "production"}; nil for none
}

// Error returns e.Message.
func (e *Error) Error() string { return e.Message }

// Unwrap returns e.Kind, so that errors.Is(e, ErrNotFound) holds for a
// not-found Error.
func (e *Error) Unwrap() error { return e.Kind }

// NotFound returns the Error of a resource ("namespace", "bucket", …) that
// identifier, as the client sent it, names and that does not exist or
// belongs to another organization (the same Error either way): message
// "Namespace not found: <identifier>" (the resource capitalized), details
// {"resource": resource, "identifier": identifier}.
func NotFound(resource, identifier string) *Error {
	return &Error{
		Kind:    ErrNotFound,
		Message: strings.ToUpper(resource[:1]) + resource[1:] + " not found: " + identifier,
		Details: map[string]any{"resource": resource, "identifier": identifier},
	}
}
