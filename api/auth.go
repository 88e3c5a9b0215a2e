package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/mixpeekgo/batches/api/domain"
)

type organizationKey struct{}

// OrganizationFrom returns the organization the request's API key belongs
// to, as authenticate put it in the request context; ok is false outside an
// authenticated request.
func OrganizationFrom(ctx context.Context) (org domain.Organization, ok bool) {
	org, ok = ctx.Value(organizationKey{}).(domain.Organization)
	return org, ok
}

// authenticate checks `Authorization: Bearer <key>` (the scheme word in any
// case, as RFC 9110 allows) against the store before anything of the body is
// read or validated. A missing, malformed or unknown key answers 401 with
// `WWW-Authenticate: Bearer`; a store failure answers 500.
//
// The organization of a key, or its absence, may come from what resolved
// (cache.go) kept of an earlier request's.
func authenticate(store domain.Store, resolved *resolveCache, log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		values := r.Header.Values("Authorization")
		if len(values) == 0 {
			unauthorized(w, `Bearer realm="mixpeek"`, "Missing API key: send Authorization: Bearer <key>")
			return
		}
		key, ok := bearerToken(values)
		if !ok {
			unauthorized(w, `Bearer realm="mixpeek", error="invalid_request"`,
				"Malformed Authorization header: expected Bearer <key>")
			return
		}
		hash := domain.HashKey(key)
		org, err := resolved.organizationForKey(r.Context(), store, hash)
		if errors.Is(err, domain.ErrNotFound) {
			unauthorized(w, `Bearer realm="mixpeek", error="invalid_token"`, "Invalid API key")
			return
		}
		if err != nil {
			serverError(log, w, r, "authenticating a request", err)
			return
		}
		ctx := context.WithValue(r.Context(), organizationKey{}, org)
		next.ServeHTTP(w, r.WithContext(context.WithValue(ctx, keyHashKey{}, hash)))
	})
}

// bearerToken takes the key out of exactly one `Bearer <key>` value.
func bearerToken(values []string) (string, bool) {
	if len(values) != 1 {
		return "", false
	}
	scheme, key, ok := strings.Cut(strings.TrimSpace(values[0]), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	key = strings.TrimSpace(key)
	if key == "" || strings.ContainsAny(key, " \t") {
		return "", false
	}
	return key, true
}

func unauthorized(w http.ResponseWriter, challenge, message string) {
	w.Header().Set("WWW-Authenticate", challenge)
	writeError(w, http.StatusUnauthorized, message, nil)
}
