package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"github.com/tailgate-dev/tailgate/histogram"
	"github.com/tailgate-dev/tailgate/scenario"
	"github.com/tailgate-dev/tailgate/schedule"
)

// jobIndexEnv is where a Kubernetes Indexed Job gives each pod its index.
const jobIndexEnv = "JOB_COMPLETION_INDEX"

// maxStartLate is how far in the past --start-at may be. A shard a little
// late starts at once and its schedule lag shows the lateness; one later
// than this was started by mistake (a stale time in a manifest) and would
// send its part of the plan out of step with the others.
const maxStartLate = time.Minute

// shardFlags split one run over several processes and start them together:
// --shard i/N (or --shards N with i from $JOB_COMPLETION_INDEX) runs
// requests i, i+N, i+2N, … of the plan (schedule.Schedule.Shard), and
// --start-at holds every shard until the same moment.
type shardFlags struct {
	shard   string
	shards  int
	startAt string

	// getenv and now stand for os.Getenv and time.Now; nil means those.
	getenv func(string) string
	now    func() time.Time
}

func (f *shardFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.shard, "shard", "", "run shard `i/N` of the schedule: requests i, i+N, i+2N, … (0 ≤ i < N); every shard needs the same scenario and seed")
	cmd.Flags().IntVar(&f.shards, "shards", 0, "run one of `N` shards, the index taken from $"+jobIndexEnv+" (Kubernetes Indexed Job)")
	cmd.Flags().StringVar(&f.startAt, "start-at", "", "wait until `TIME` (RFC 3339, e.g. 2030-01-02T15:04:05Z) before sending, so shards start together; more than "+maxStartLate.String()+" in the past is an error")
}

func (f *shardFlags) clock() time.Time {
	if f.now != nil {
		return f.now()
	}
	return time.Now()
}

// index returns this process's shard: 0 of 1 when the run is not split.
func (f *shardFlags) index() (i, n int, err error) {
	switch {
	case f.shard != "" && f.shards != 0:
		return 0, 0, usagef("--shard and --shards: give one (--shard i/N, or --shards N with $%s)", jobIndexEnv)
	case f.shard != "":
		i, n, err = parseShard(f.shard)
		if err != nil {
			return 0, 0, usagef("--shard %s: %v", f.shard, err)
		}
		return i, n, nil
	case f.shards != 0:
		if f.shards < 1 {
			return 0, 0, usagef("--shards %d: must be at least 1", f.shards)
		}
		getenv := f.getenv
		if getenv == nil {
			getenv = os.Getenv
		}
		v := getenv(jobIndexEnv)
		if v == "" {
			return 0, 0, usagef("--shards %d: $%s is not set; outside an Indexed Job use --shard i/%d", f.shards, jobIndexEnv, f.shards)
		}
		i, err := strconv.Atoi(v)
		if err != nil || i < 0 || i >= f.shards {
			return 0, 0, usagef("--shards %d: $%s=%q: want a whole number from 0 to %d", f.shards, jobIndexEnv, v, f.shards-1)
		}
		return i, f.shards, nil
	}
	return 0, 1, nil
}

// parseShard reads "i/N" with 0 ≤ i < N, as a log records it.
func parseShard(s string) (i, n int, err error) { return histogram.ParseShard(s) }

// start returns --start-at, zero when it is not given.
func (f *shardFlags) start() (time.Time, error) {
	if f.startAt == "" {
		return time.Time{}, nil
	}
	at, err := time.Parse(time.RFC3339, f.startAt)
	if err != nil {
		return time.Time{}, usagef("--start-at %q: want an RFC 3339 time like 2030-01-02T15:04:05Z", f.startAt)
	}
	if late := f.clock().Sub(at); late > maxStartLate {
		return time.Time{}, usagef("--start-at %s is %s in the past (at most %s): the shards would not start together", f.startAt, late.Round(time.Second), maxStartLate)
	}
	return at, nil
}

// planStart is --start-at as given, zero when it is not: when the plan
// began for every shard. schedule has checked it.
func (f *shardFlags) planStart() time.Time {
	at, _ := time.Parse(time.RFC3339, f.startAt)
	return at
}

// schedule checks the flags and returns the plan this process sends: its
// shard of full, sc's whole schedule. It says which shard it is unless quiet.
func (f *shardFlags) schedule(sc *scenario.Scenario, full *schedule.Schedule, quiet bool, stderr io.Writer) (*schedule.Schedule, error) {
	i, n, err := f.index()
	if err != nil {
		return nil, err
	}
	if _, err := f.start(); err != nil {
		return nil, err
	}
	sched := full.Shard(i, n)
	if n > 1 && !quiet {
		fmt.Fprintf(stderr, "tailgate: shard %d/%d: %d of the plan's %d requests\n", i, n, sched.Requests(), full.Requests())
		if sc.Target.Embedded() {
			fmt.Fprintf(stderr, "tailgate: warning: url: embedded starts a service in each shard, so each sees 1/%d of the traffic; point target.url at one `tailgate serve` to load one service with the whole plan\n", n)
		}
	}
	return sched, nil
}

// wait sleeps until --start-at, if given. A start at most maxStartLate in
// the past begins at once, saying how late it is.
func (f *shardFlags) wait(ctx context.Context, quiet bool, stderr io.Writer) error {
	at, err := f.start()
	if err != nil || at.IsZero() {
		return err
	}
	d := at.Sub(f.clock())
	if d <= 0 {
		if !quiet {
			fmt.Fprintf(stderr, "tailgate: warning: starting %s after --start-at %s\n", (-d).Round(time.Millisecond), f.startAt)
		}
		return nil
	}
	if !quiet {
		fmt.Fprintf(stderr, "tailgate: waiting %s until %s\n", d.Round(time.Millisecond), f.startAt)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("interrupted while waiting for --start-at %s: nothing was sent", f.startAt)
	}
}
