// Package specroute finds the operation of openapi.yaml a request is for,
// as kin-openapi's gorillamux router does, but by method as well as path:
// where two paths of the contract match a request (…/batches/list and
// …/batches/{batch_id}), the operation is that of the first path, in
// kin-openapi's matching order, that has the request's method, as the
// server's ServeMux routes it. kin-openapi's router stops at the first
// path that matches and answers "method not allowed" when it lacks the
// method. Package api validates requests with it, package api/apitest
// checks exchanges with it.
package specroute

import (
	"errors"
	"net/http"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// Router is a routers.Router over the paths of one document.
type Router struct {
	paths []routers.Router // one a path, in matching order
}

var _ routers.Router = (*Router)(nil)

// New returns the Router of doc's paths. It returns gorillamux's error for
// a path it cannot route.
func New(doc *openapi3.T) (*Router, error) {
	r := &Router{}
	for _, p := range doc.Paths.InMatchingOrder() {
		one := *doc
		one.Paths = openapi3.NewPaths(openapi3.WithPath(p, doc.Paths.Value(p)))
		pr, err := gorillamux.NewRouter(&one)
		if err != nil {
			return nil, err
		}
		r.paths = append(r.paths, pr)
	}
	return r, nil
}

// FindRoute returns the route of req and its path parameters:
// routers.ErrMethodNotAllowed when paths match req but none has its
// method, routers.ErrPathNotFound when none matches.
func (r *Router) FindRoute(req *http.Request) (*routers.Route, map[string]string, error) {
	err := routers.ErrPathNotFound
	for _, p := range r.paths {
		route, params, perr := p.FindRoute(req)
		switch {
		case perr == nil:
			return route, params, nil
		case errors.Is(perr, routers.ErrMethodNotAllowed):
			err = routers.ErrMethodNotAllowed
		}
	}
	return nil, nil, err
}
