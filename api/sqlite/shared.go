package sqlite

import "github.com/mixpeekgo/batches/api/storage"

// What this package shares with api/postgres lives in api/storage; these
// names keep this package's API as it was.

// ErrInvalid is [storage.ErrInvalid]: wrapped by the errors of the methods
// that refuse their arguments (an empty or badly formed name, id or key, a
// batch that breaks the Batch schema, a negative offset).
var ErrInvalid = storage.ErrInvalid

// ErrAlreadyExists is [storage.ErrAlreadyExists]: wrapped by the errors of
// the methods that create something whose id, name or key is already taken.
var ErrAlreadyExists = storage.ErrAlreadyExists

// MaxImportLine is the longest line, in bytes, that [DB.ImportBatches]
// accepts.
const MaxImportLine = storage.MaxImportLine

// LineError is the error of [DB.ImportBatches] about one line of its input
// ([storage.LineError]).
type LineError = storage.LineError

// Names of what [DB.SeedDemo] creates.
const (
	DemoOrganizationName = storage.DemoOrganizationName
	DemoNamespaceName    = storage.DemoNamespaceName
	DemoBucketID         = storage.DemoBucketID
	DemoBucketName       = storage.DemoBucketName
	// DemoBatchCount is the number of batches in the demo bucket.
	DemoBatchCount = storage.DemoBatchCount
)

// DemoInfo is what [DB.SeedDemo] created ([storage.DemoInfo]).
type DemoInfo = storage.DemoInfo

// DemoBatches returns the demo batches of [DB.SeedDemo]; see
// [storage.DemoBatches].
var DemoBatches = storage.DemoBatches

// NewID returns prefix followed by 12 random characters of [a-z0-9]; see
// [storage.NewID].
func NewID(prefix string) string { return storage.NewID(prefix) }
