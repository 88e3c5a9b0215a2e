package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mixpeekgo/batches/api/domain"
)

// The administration's lists: what a database holds, oldest first, as a
// table (a header, then a row a record, columns aligned) or as JSON (an
// array of objects, the columns' names in lower case).

// listOutput selects how a list prints.
type listOutput struct {
	Output string `short:"o" default:"table" enum:"table,json" help:"Print a table (table) or a JSON array (json)."`
}

// print writes the rows, each the values of columns.
func (o listOutput) print(w io.Writer, columns []string, rows [][]string) error {
	if o.Output == "json" {
		out := make([]map[string]string, len(rows))
		for i, r := range rows {
			out[i] = map[string]string{}
			for j, c := range columns {
				out[i][strings.ToLower(c)] = r[j]
			}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(columns, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// listing opens the existing database and prints what list returns.
func listing[T any](e *env, o listOutput, columns []string, list func(ctx context.Context, db domain.DB) ([]T, error), row func(T) []string) error {
	db, err := openDB(e.ctx, e, false)
	if err != nil {
		return err
	}
	defer db.Close()
	items, err := list(e.ctx, db)
	if err != nil {
		return err
	}
	rows := make([][]string, len(items))
	for i, it := range items {
		rows[i] = row(it)
	}
	return o.print(e.stdout, columns, rows)
}

type orgListCmd struct{ listOutput }

func (c *orgListCmd) Run(e *env) error {
	return listing(e, c.listOutput, []string{"ORGANIZATION_ID", "NAME"},
		func(ctx context.Context, db domain.DB) ([]domain.Organization, error) {
			return db.ListOrganizations(ctx)
		},
		func(o domain.Organization) []string { return []string{o.ID, o.Name} })
}

type namespaceListCmd struct {
	Org string `help:"Only the namespaces of this organization (org_…)."`
	listOutput
}

func (c *namespaceListCmd) Run(e *env) error {
	return listing(e, c.listOutput, []string{"NAMESPACE_ID", "NAME", "ORGANIZATION_ID"},
		func(ctx context.Context, db domain.DB) ([]domain.Namespace, error) {
			return db.ListNamespaces(ctx, c.Org)
		},
		func(n domain.Namespace) []string { return []string{n.ID, n.Name, n.OrganizationID} })
}

type bucketListCmd struct {
	Namespace string `help:"Only the buckets of this namespace: its id (ns_…) or name (with --org when several organizations have one of that name)."`
	Org       string `help:"Id of the organization whose namespace --namespace names, when the name is not unique."`
	listOutput
}

func (c *bucketListCmd) Run(e *env) error {
	return listing(e, c.listOutput, []string{"BUCKET_ID", "NAME", "NAMESPACE_ID"},
		func(ctx context.Context, db domain.DB) ([]domain.Bucket, error) {
			nsID := ""
			if c.Namespace != "" {
				ns, err := findNamespace(ctx, db, c.Org, c.Namespace)
				if err != nil {
					return nil, err
				}
				nsID = ns.ID
			}
			return db.ListBuckets(ctx, nsID)
		},
		func(b domain.Bucket) []string { return []string{b.ID, b.Name, b.NamespaceID} })
}

type keyListCmd struct {
	Org string `help:"Only the keys of this organization (org_…)."`
	listOutput
}

func (c *keyListCmd) Run(e *env) error {
	return listing(e, c.listOutput, []string{"KEY_ID", "PREFIX", "ORGANIZATION_ID", "CREATED_AT", "REVOKED_AT"},
		func(ctx context.Context, db domain.DB) ([]domain.APIKeyInfo, error) {
			return db.ListAPIKeys(ctx, c.Org)
		},
		func(k domain.APIKeyInfo) []string {
			revoked, prefix := "", k.Prefix
			if k.RevokedAt != nil {
				revoked = k.RevokedAt.Format(time.RFC3339)
			}
			if prefix == "" {
				prefix = "(unknown)" // registered before prefixes were kept
			} else {
				prefix += "…"
			}
			return []string{k.ID, prefix, k.OrganizationID, k.CreatedAt.Format(time.RFC3339), revoked}
		})
}

type keyRevokeCmd struct {
	ID string `name:"id" required:"" help:"Id of the key (key_ and 12 hexadecimal digits, as key list shows it)."`
	output
}

func (c *keyRevokeCmd) Run(e *env) error {
	db, err := openDB(e.ctx, e, false)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.RevokeAPIKey(e.ctx, c.ID); err != nil {
		if errors.Is(err, domain.ErrNotFound) {
			return fmt.Errorf("no API key has the id %s (batchesd key list shows them)", c.ID)
		}
		return err
	}
	keys, err := db.ListAPIKeys(e.ctx, "")
	if err != nil {
		return err
	}
	for _, k := range keys {
		if k.ID == c.ID && k.RevokedAt != nil {
			return c.print(e.stdout, [2]string{"KEY_ID", k.ID}, [2]string{"REVOKED_AT", k.RevokedAt.Format(time.RFC3339Nano)})
		}
	}
	return fmt.Errorf("API key %s: not revoked", c.ID)
}

// findNamespace returns the namespace that namespace names: its id, or its
// name, among the namespaces of the organization org ("" for every
// organization's). A name that several organizations use needs org.
func findNamespace(ctx context.Context, db domain.DB, org, namespace string) (domain.Namespace, error) {
	all, err := db.ListNamespaces(ctx, org)
	if err != nil {
		return domain.Namespace{}, err
	}
	var named []domain.Namespace
	for _, ns := range all {
		if ns.ID == namespace {
			return ns, nil
		}
		if ns.Name == namespace {
			named = append(named, ns)
		}
	}
	switch len(named) {
	case 1:
		return named[0], nil
	case 0:
		where := ""
		if org != "" {
			where = " in organization " + org
		}
		return domain.Namespace{}, fmt.Errorf("namespace %q not found%s: give its id (ns_…) or name (batchesd namespace list shows them)", namespace, where)
	}
	orgs := make([]string, len(named))
	for i, ns := range named {
		orgs[i] = ns.OrganizationID
	}
	return domain.Namespace{}, fmt.Errorf("namespace name %q is used in %d organizations (%s): give --org, or the namespace's id",
		namespace, len(named), strings.Join(orgs, ", "))
}
