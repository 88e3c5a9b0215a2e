package batchestest

import (
	"context"

	"github.com/mixpeekgo/batches"
	"github.com/mixpeekgo/batches/api/domain"
)

// Steering: a submitted batch moved to the end a test wants, at once, as
// the server's own processing would move it (each step one transaction;
// the step's queued job then does nothing). A test that polls the batch,
// or its task, sees its end at the next request: milliseconds, not the
// seconds of a tier.

// CompleteBatch runs every step left of the processing of the batch
// batchID: each tier succeeds, and the batch and its task end COMPLETED.
// It returns the batch's status. It fails the test when the batch is not
// being processed (not submitted, or at its end already) or does not
// exist.
func (s *Server) CompleteBatch(batchID string) batches.TaskStatus {
	s.t.Helper()
	return s.steer(batchID, domain.Complete, "CompleteBatch")
}

// FailBatch runs the steps of the processing of the batch batchID up to the
// end of its current (or next) tier, which fails: the batch and its task
// end FAILED, its later tiers SKIPPED; retry it with retryBatch. It
// returns the batch's status, and fails the test as CompleteBatch does.
func (s *Server) FailBatch(batchID string) batches.TaskStatus {
	s.t.Helper()
	return s.steer(batchID, domain.Fail, "FailBatch")
}

// CompleteBatchWithErrors runs every step left of the processing of the
// batch batchID, its current (or next) tier finishing with some documents
// failed, the others succeeding: the batch and its task end
// COMPLETED_WITH_ERRORS, with error_summary. It returns the batch's
// status, and fails the test as CompleteBatch does.
func (s *Server) CompleteBatchWithErrors(batchID string) batches.TaskStatus {
	s.t.Helper()
	return s.steer(batchID, domain.CompleteWithErrors, "CompleteBatchWithErrors")
}

// AdvanceBatch runs the one step the batch batchID waits for: the start of
// its next tier (the batch IN_PROGRESS), or the end of its tier in
// progress, which ends as the server's processing settings draw it. It
// returns the batch's status, and fails the test as CompleteBatch does.
func (s *Server) AdvanceBatch(batchID string) batches.TaskStatus {
	s.t.Helper()
	return s.steer(batchID, domain.Advance, "AdvanceBatch")
}

func (s *Server) steer(batchID string, how domain.Steering, name string) batches.TaskStatus {
	s.t.Helper()
	steps, err := s.db.Steer(context.Background(), batchID, how)
	if err != nil {
		s.t.Fatalf("batchestest: %s(%q): %v", name, batchID, err)
	}
	return steps[len(steps)-1].BatchStatus
}
