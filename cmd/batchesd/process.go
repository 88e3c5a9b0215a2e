package main

import (
	"context"
	"fmt"
	"time"

	"github.com/mixpeekgo/batches/api/domain"
	"github.com/mixpeekgo/batches/api/river"
)

// processFlags are serve's settings of the processing of submitted
// batches: the simulation (domain.Processing) and the queue's workers
// (river.Config).
type processFlags struct {
	ProcessTierDuration time.Duration `env:"BATCHESD_PROCESS_TIER_DURATION" default:"3s" placeholder:"DURATION" help:"Mean time a tier of a submitted batch takes (each batch's tiers 0.5 to 1.5 times it, so that batches submitted together end apart); 0: none, tiers end as soon as their step runs."`
	ProcessFailureRatio float64       `env:"BATCHESD_PROCESS_FAILURE_RATIO" default:"0.1" placeholder:"RATIO" help:"Chance (0 to 1) that a tier fails, and with it its batch (FAILED; retry it)."`
	ProcessErrorRatio   float64       `env:"BATCHESD_PROCESS_ERROR_RATIO" default:"0.15" placeholder:"RATIO" help:"Chance (0 to 1) that a tier ends with some of its documents failed: the batch ends COMPLETED_WITH_ERRORS. Both ratios 0: every batch COMPLETED."`
	ProcessTiers        int           `env:"BATCHESD_PROCESS_TIERS" default:"2" placeholder:"N" help:"Tiers of a new batch, 1 to 5; tier k writes the collection col_<bucket id>_t<k> (the bucket's collections are not modeled)."`
	ProcessWorkers      int           `env:"BATCHESD_PROCESS_WORKERS" default:"10" placeholder:"N" help:"Steps of processing (a tier's start or end, milliseconds each) this process runs at once."`
	ProcessRescueAfter  time.Duration `env:"BATCHESD_PROCESS_RESCUE_AFTER" default:"1m" placeholder:"DURATION" help:"How long a step may stay running before it counts as abandoned by a process that died (kill -9) and runs again (river's RescueStuckJobsAfter; its default, 1h, would leave such a batch IN_PROGRESS that long). A step takes milliseconds, and one run twice does nothing the second time; at least 1s."`
	NoProcessing        bool          `env:"BATCHESD_NO_PROCESSING" help:"Do not process submitted batches in this process: they wait, queued in the database, for a process that does."`
	DemoProcessing      int           `env:"BATCHESD_DEMO_PROCESSING" default:"6" placeholder:"N" help:"Batches the demo submits when it is created, besides its 300, so that the first listings show statuses changing; 0: none."`
}

// settings returns the processing and queue settings of the flags; an
// error names the flag that is wrong.
func (f processFlags) settings(e *env) (domain.Processing, river.Config, error) {
	p := domain.Processing{TierDuration: f.ProcessTierDuration, FailureRatio: f.ProcessFailureRatio,
		ErrorRatio: f.ProcessErrorRatio, Tiers: f.ProcessTiers}
	switch {
	case f.ProcessTierDuration < 0:
		return p, river.Config{}, fmt.Errorf("--process-tier-duration %s is negative", f.ProcessTierDuration)
	case f.ProcessTierDuration == 0:
		p.TierDuration = -1 // none; 0 is the domain's default
	}
	if f.ProcessFailureRatio == 0 && f.ProcessErrorRatio == 0 {
		p.NoFailures = true
	}
	if f.ProcessFailureRatio < 0 || f.ProcessErrorRatio < 0 {
		return p, river.Config{}, fmt.Errorf("--process-failure-ratio and --process-error-ratio must be 0 to 1")
	}
	if err := domain.CheckProcessing(p); err != nil {
		return p, river.Config{}, fmt.Errorf("--process-tiers, --process-failure-ratio, --process-error-ratio: %w", err)
	}
	if f.ProcessWorkers < 1 {
		return p, river.Config{}, fmt.Errorf("--process-workers %d: give 1 or more", f.ProcessWorkers)
	}
	q := river.Config{Workers: f.ProcessWorkers, RescueAfter: f.ProcessRescueAfter, Logger: e.log.With("component", "processing")}
	if f.ProcessRescueAfter < time.Second {
		return p, q, fmt.Errorf("--process-rescue-after %s: give 1s or more", f.ProcessRescueAfter)
	}
	q.StepTimeout = min(river.DefaultStepTimeout, f.ProcessRescueAfter)
	return p, q, nil
}

// startDemoProcessing creates and submits n batches of the demo, to be
// processed.
func startDemoProcessing(ctx context.Context, e *env, db domain.DB, d domain.DemoInfo, n int) {
	s := domain.Scope{OrganizationID: d.OrganizationID, NamespaceID: d.NamespaceID, BucketID: d.BucketID}
	if err := domain.SubmitDemoBatches(ctx, db, s, n); err != nil {
		e.log.Warn("the demo's batches to process were not all submitted", "err", err)
	}
}
