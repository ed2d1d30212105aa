package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// Step is one stage bound to its inputs: the pipeline composes steps, a
// stage stays a plain function. Run returns a one-line summary for the log.
type Step struct {
	Name string
	Run  func(ctx context.Context) (summary string, err error)
}

// StepResult is what one step did.
type StepResult struct {
	Name     string
	Summary  string
	Duration time.Duration
}

// Run runs steps in order and stops at the first failure, naming the step.
// Each step is idempotent for its logical batch, so rerunning the whole
// pipeline after a failure redoes only what did not commit.
func Run(ctx context.Context, logger *slog.Logger, steps ...Step) ([]StepResult, error) {
	if logger == nil {
		logger = slog.Default()
	}
	var results []StepResult
	for i, s := range steps {
		if err := ctx.Err(); err != nil {
			return results, fmt.Errorf("step %d/%d %s: %w", i+1, len(steps), s.Name, err)
		}
		logger.Info("step start", "step", s.Name, "n", i+1, "of", len(steps))
		start := time.Now()
		summary, err := s.Run(ctx)
		d := time.Since(start)
		if err != nil {
			logger.Error("step failed", "step", s.Name, "elapsed", d.Round(time.Millisecond), "err", err)
			return results, fmt.Errorf("step %d/%d %s: %w", i+1, len(steps), s.Name, err)
		}
		logger.Info("step done", "step", s.Name, "elapsed", d.Round(time.Millisecond), "summary", summary)
		results = append(results, StepResult{Name: s.Name, Summary: summary, Duration: d})
	}
	return results, nil
}
