package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/tailgate-dev/tailgate/histogram"
	"github.com/tailgate-dev/tailgate/scenario"
)

// mergeCmd is `tailgate merge A.hlog B.hlog… -o merged.hlog`.
type mergeCmd struct {
	output string
	quiet  bool
}

func newMergeCmd() *cobra.Command {
	c := &mergeCmd{}
	cmd := &cobra.Command{
		Use:   "merge A.hlog B.hlog… -o merged.hlog",
		Short: "Merge the interval logs of a run's shards, exactly (HDR merge)",
		Long: `merge combines the run.hlog of each shard of a distributed run into one interval
log that tailgate report and tailgate plot read as one run.

Per source, the merged histograms hold every sample of every shard: an HDR merge
is exact, so the merged p99 is the p99 of all requests, not an average of the
shards' p99s. Intervals are aligned by their start, rounded to the second from
the earliest shard's start, so latency over time still reads per second; request
counts, errors, slowest requests and planned requests add up; the planned
duration and the elapsed time are the longest. The merged log holds intervals
only (other HDR tools add a tag's intervals to get its total).

Only distinct shards of one plan merge: every log must be of the same
scenario, plan (the scenario file with the same --set, --rate-scale and
--duration) and seed, split the same way (--shard i/N with one N), and hold
shards no other log holds. A whole run is all of its plan: it merges with
nothing else. The merged log records the shards it holds, so it can be
merged again with the rest; tailgate report judges a log that lacks shards
invalid (exit 3), naming them.

Exit codes: 0 merged, 2 an unreadable log, or logs that are not distinct
shards of one plan.`,
		Args: func(_ *cobra.Command, a []string) error {
			if len(a) == 0 {
				return usagef("want the interval logs to merge (A.hlog B.hlog…)")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, a []string) error {
			return c.Run(a, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringVarP(&c.output, "output", "o", "", "`FILE` to write the merged log to (required)")
	cmd.Flags().BoolVarP(&c.quiet, "quiet", "q", false, "print nothing")
	return cmd
}

// Run merges the logs at paths into c.output. The merged log is written
// beside its destination and renamed into place, so a failed merge leaves
// no half log.
func (c *mergeCmd) Run(paths []string, stdout, stderr io.Writer) error {
	if c.output == "" {
		return usagef("-o FILE is required: where to write the merged log")
	}
	if fi, err := os.Stat(c.output); err == nil && fi.IsDir() {
		return usagef("-o %s is a directory: give the merged log's file name, e.g. %s", c.output, filepath.Join(c.output, "merged.hlog"))
	}
	var inputs []histogram.NamedReader
	for i, p := range paths {
		if sameFile(p, c.output) {
			return usagef("-o %s is one of the logs to merge: write the merge elsewhere", c.output)
		}
		for _, q := range paths[:i] {
			if sameFile(p, q) {
				return usagef("%s and %s are one file: merge each shard once", q, p)
			}
		}
		f, err := scenario.OpenFile(p, "interval log")
		if err != nil {
			return usagef("%v", err)
		}
		defer f.Close()
		inputs = append(inputs, histogram.NamedReader{Name: p, R: f})
	}
	tmp, err := os.CreateTemp(filepath.Dir(c.output), "."+filepath.Base(c.output)+".*")
	if err != nil {
		return usagef("-o %s: %v", c.output, err)
	}
	defer os.Remove(tmp.Name())
	sum, err := histogram.MergeLogs(tmp, inputs)
	if err != nil {
		tmp.Close()
		return usagef("%v", err)
	}
	if err := tmp.Close(); err != nil {
		return usagef("-o %s: %v", c.output, err)
	}
	if err := os.Rename(tmp.Name(), c.output); err != nil {
		return usagef("-o %s: %v", c.output, err)
	}
	if !c.quiet {
		for _, w := range sum.Warnings {
			fmt.Fprintf(stderr, "tailgate: warning: %s\n", w)
		}
		fmt.Fprintf(stdout, "merged %d logs of %s into %s: %d requests (%d errors), %d intervals\n",
			sum.Logs, sum.Scenario, c.output, sum.Counts.Sent, sum.Counts.Errors, sum.Intervals)
		if h := sum.Header; h.ShardCount > 1 {
			held := "shards " + histogram.ShardList(h.Shards, h.ShardCount)
			if len(h.Shards) == 1 {
				held = "shard " + histogram.ShardList(h.Shards, h.ShardCount)
			}
			if inc := h.Incomplete(); inc != "" {
				fmt.Fprintf(stdout, "holds %s of plan %s; %s: tailgate report judges it incomplete until every shard is merged in\n", held, h.Identity, inc)
			} else {
				fmt.Fprintf(stdout, "holds every shard of plan %s (%d of %d)\n", h.Identity, len(h.Shards), h.ShardCount)
			}
		}
		var parts []string
		for _, src := range sortedKeys(sum.Samples) {
			parts = append(parts, fmt.Sprintf("%s %d", src, sum.Samples[src]))
		}
		fmt.Fprintf(stdout, "samples: %s\n", strings.Join(parts, ", "))
	}
	return nil
}

func sameFile(a, b string) bool {
	fa, errA := os.Stat(a)
	fb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(fa, fb)
}
