package sqlite

// BatchArgs is batchArgs, for the benchmarks' fixture, which writes rows as
// the store does without its checks.
var BatchArgs = batchArgs
