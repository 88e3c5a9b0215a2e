package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/alecthomas/kong"

	"github.com/mixpeekgo/batches/api/domain"
	"github.com/mixpeekgo/batches/api/river"
)

// processFlags are serve's settings of the processing of submitted
// batches: the simulation (domain.Processing) and the queue's workers
// (river.Config).
type processFlags struct {
	ProcessTierDuration time.Duration `env:"BATCHESD_PROCESS_TIER_DURATION" default:"3s" placeholder:"DURATION" help:"Mean time a tier of a submitted batch takes (each batch's tiers 0.5 to 1.5 times it, so that batches submitted together end apart); 0: none, tiers end as soon as their step runs."`
	ProcessFailureRatio ratioFlag     `env:"BATCHESD_PROCESS_FAILURE_RATIO" placeholder:"RATIO" help:"Chance (0 to 1) that a tier fails, and with it its batch (FAILED; retry it). Default 0.1."`
	ProcessErrorRatio   ratioFlag     `env:"BATCHESD_PROCESS_ERROR_RATIO" placeholder:"RATIO" help:"Chance (0 to 1) that a tier ends with some of its documents failed: the batch ends COMPLETED_WITH_ERRORS. Default 0.15, or 1 minus the failure ratio when that is less (--process-failure-ratio 1 alone: every tier fails). The two add up to 1 at most; both 0: every batch COMPLETED."`
	ProcessTiers        int           `env:"BATCHESD_PROCESS_TIERS" default:"2" placeholder:"N" help:"Tiers of a new batch, 1 to 5; tier k writes the collection col_<bucket id>_t<k> (the bucket's collections are not modeled)."`
	ProcessWorkers      int           `env:"BATCHESD_PROCESS_WORKERS" default:"10" placeholder:"N" help:"Steps of processing (a tier's start or end, milliseconds each) this process runs at once; 1 or more."`
	ProcessRescueAfter  time.Duration `env:"BATCHESD_PROCESS_RESCUE_AFTER" default:"1m" placeholder:"DURATION" help:"How long a step may stay running before it counts as abandoned by a process that died (kill -9) and runs again (river's RescueStuckJobsAfter; its default, 1h, would leave such a batch IN_PROGRESS that long). A step takes milliseconds, and one run twice does nothing the second time; at least 1s."`
	NoProcessing        bool          `env:"BATCHESD_NO_PROCESSING" help:"Do not process submitted batches in this process: they wait, queued in the database, for a process that does."`
	DemoProcessing      int           `env:"BATCHESD_DEMO_PROCESSING" default:"6" placeholder:"N" help:"Batches the demo submits when it is created, besides its 300, so that the first listings show statuses changing; 0: none."`
}

// ratioFlag is a chance, 0 to 1, and whether it was given (by the flag or
// its variable): the error ratio's default depends on the failure ratio.
type ratioFlag struct {
	v   float64
	set bool
}

// Decode reads the flag's value; an error is a usage error (exit 2).
func (f *ratioFlag) Decode(ctx *kong.DecodeContext) error {
	takeNegative(ctx.Scan)
	var s string
	if err := ctx.Scan.PopValueInto("ratio", &s); err != nil {
		return err
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || !(v >= 0 && v <= 1) { // NaN too
		return fmt.Errorf("%q is not a ratio: give a number from 0 to 1", s)
	}
	f.v, f.set = v, true
	return nil
}

// ratios returns the failure and error ratios the flags mean: the failure
// ratio's default 0.1, the error ratio's 0.15 or, when less, 1 minus the
// failure ratio. Ratios given that add up to more than 1 are an error.
func (f processFlags) ratios() (failure, errs float64, err error) {
	failure, errs = domain.DefaultFailureRatio, domain.DefaultErrorRatio
	if f.ProcessFailureRatio.set {
		failure = f.ProcessFailureRatio.v
	}
	if f.ProcessErrorRatio.set {
		errs = f.ProcessErrorRatio.v
	} else {
		errs = min(errs, 1-failure)
	}
	if failure+errs > 1 {
		return 0, 0, fmt.Errorf("--process-failure-ratio %g and --process-error-ratio %g add up to more than 1: a tier fails, ends with errors, or neither", failure, errs)
	}
	return failure, errs, nil
}

// check returns the usage error of the first flag that is wrong, naming
// it (a *badFlag, or the ratios' error): serve's Validate refuses it
// before anything is opened (exit 2).
func (f processFlags) check() error {
	err := firstError(
		atLeast("process-tier-duration", f.ProcessTierDuration, 0, "give a duration such as 3s, or 0 (none)"),
		within("process-tiers", f.ProcessTiers, 1, domain.MaxProcessingTiers, fmt.Sprintf("a batch has 1 to %d tiers", domain.MaxProcessingTiers)),
		atLeast("process-workers", f.ProcessWorkers, 1, "give 1 or more"),
		atLeast("process-rescue-after", f.ProcessRescueAfter, time.Second, "give 1s or more"),
		atLeast("demo-processing", f.DemoProcessing, 0, "give 0 (none) or more"),
	)
	if err != nil {
		return err
	}
	_, _, err = f.ratios()
	return err
}

// settings returns the processing and queue settings of the flags, which
// serve's Validate has checked (check); an error is the ratios'.
func (f processFlags) settings(e *env) (domain.Processing, river.Config, error) {
	failure, errs, err := f.ratios()
	if err != nil {
		return domain.Processing{}, river.Config{}, err
	}
	p := domain.Processing{TierDuration: f.ProcessTierDuration, FailureRatio: failure, ErrorRatio: errs,
		NoFailures: failure == 0 && errs == 0, Tiers: f.ProcessTiers}
	if f.ProcessTierDuration == 0 {
		p.TierDuration = -1 // none; 0 is the domain's default
	}
	q := river.Config{Workers: f.ProcessWorkers, RescueAfter: f.ProcessRescueAfter, Logger: e.log.With("component", "processing"),
		StepTimeout: min(river.DefaultStepTimeout, f.ProcessRescueAfter)}
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
