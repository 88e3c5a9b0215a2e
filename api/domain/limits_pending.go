package domain

// Until issue 14's limits (limits.go) land: the two the lifecycle uses,
// with their values there.
const (
	// MaxStringBytes is the longest object id, in bytes of UTF-8.
	MaxStringBytes = 256
	// MaxObjectIDs is the most object_ids of a batch.
	MaxObjectIDs = 1000
	// MaxBatchBytes is the largest canonical JSON of a batch: 32 KiB.
	MaxBatchBytes = 32 << 10
)
