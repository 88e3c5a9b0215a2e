package domain

import "context"

// Tenant names what [CreateTenant] creates: an organization, a namespace
// of it, a bucket of that namespace and an API key of the organization.
type Tenant struct {
	Organization string // the organization's name
	Namespace    string // the namespace's name
	BucketName   string // the bucket's name
	BucketID     string // the bucket's id; "" for a new one
	APIKey       string // the API key; "" for a new one
}

// CreatedTenant is what [CreateTenant] created.
type CreatedTenant struct {
	Organization Organization
	Namespace    Namespace
	Bucket       Bucket
	APIKey       string // in clear
}

// CreateTenant creates the tenant t with c (an [Admin], or the one
// transaction of [Admin.SeedDemo]): the organization, the namespace, the
// bucket, then the API key, and returns them. It stops at the first error,
// which is the method's (each names what it is about: "namespace name …",
// "API key: …"); what was created before it stays unless c is one
// transaction.
func CreateTenant(ctx context.Context, c Tenants, t Tenant) (CreatedTenant, error) {
	var (
		out CreatedTenant
		err error
	)
	if out.Organization, err = c.CreateOrganization(ctx, t.Organization); err != nil {
		return CreatedTenant{}, err
	}
	if out.Namespace, err = c.CreateNamespace(ctx, out.Organization.ID, t.Namespace); err != nil {
		return CreatedTenant{}, err
	}
	if out.Bucket, err = c.CreateBucket(ctx, out.Namespace.ID, t.BucketName, t.BucketID); err != nil {
		return CreatedTenant{}, err
	}
	if out.APIKey, err = c.CreateAPIKey(ctx, out.Organization.ID, t.APIKey); err != nil {
		return CreatedTenant{}, err
	}
	return out, nil
}
