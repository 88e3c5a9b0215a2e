package domain

import "context"

// ImportLock is what makes imports into one bucket take turns: it waits
// until no other import into bucketID (of any process on the database)
// holds the lock, then takes it, and returns the function that gives it
// back. While it waits it calls NotifyImportWaiting(ctx, …). It returns an
// error only when ctx is done first (wrapping ctx's error), or for a
// failure of the database. A backend gives its own to [NewAdmin]
// ([WithImportLock]); the lock of a process that dies is released.
type ImportLock func(ctx context.Context, bucketID string) (unlock func(), err error)

// AdminOption configures [NewAdmin].
type AdminOption func(*admin)

// WithImportLock sets the lock [Admin.ImportBatches] holds for the whole
// import, from reading its input to its commit; without it imports do not
// take turns (the database's own locks order their writes).
func WithImportLock(lock ImportLock) AdminOption { return func(a *admin) { a.importLock = lock } }

type importWaitingKey struct{}

// WithImportWaiting returns ctx with f, which an [ImportLock] calls when
// the import of ctx has to wait for another one (the CLI says so), with
// what it waits for in words: the lock's scope differs by backend
// ("another import into bucket bkt_…" on PostgreSQL; on SQLite any other
// import into the database file).
func WithImportWaiting(ctx context.Context, f func(waitingFor string)) context.Context {
	return context.WithValue(ctx, importWaitingKey{}, f)
}

// NotifyImportWaiting calls the function of [WithImportWaiting] of ctx, if
// any, with waitingFor, what the import waits for.
func NotifyImportWaiting(ctx context.Context, waitingFor string) {
	if f, ok := ctx.Value(importWaitingKey{}).(func(string)); ok {
		f(waitingFor)
	}
}
