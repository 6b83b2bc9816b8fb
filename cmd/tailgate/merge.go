package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/tailgate-dev/tailgate/histogram"
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

Exit codes: 0 merged, 2 an unreadable log, or logs of different scenarios.`,
		Args: func(_ *cobra.Command, a []string) error {
			if len(a) == 0 {
				return usagef("want the interval logs to merge (A.hlog B.hlog…)")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, a []string) error {
			return c.Run(a, cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVarP(&c.output, "output", "o", "", "`FILE` to write the merged log to (required)")
	cmd.Flags().BoolVarP(&c.quiet, "quiet", "q", false, "print nothing")
	return cmd
}

// Run merges the logs at paths into c.output. The merged log is written
// beside its destination and renamed into place, so a failed merge leaves
// no half log.
func (c *mergeCmd) Run(paths []string, stdout io.Writer) error {
	if c.output == "" {
		return usagef("-o FILE is required: where to write the merged log")
	}
	var inputs []histogram.NamedReader
	for _, p := range paths {
		if sameFile(p, c.output) {
			return usagef("-o %s is one of the logs to merge: write the merge elsewhere", c.output)
		}
		f, err := os.Open(p)
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
		return err
	}
	if err := os.Rename(tmp.Name(), c.output); err != nil {
		return err
	}
	if !c.quiet {
		fmt.Fprintf(stdout, "merged %d logs of %s into %s: %d requests (%d errors), %d intervals\n",
			sum.Logs, sum.Scenario, c.output, sum.Counts.Sent, sum.Counts.Errors, sum.Intervals)
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
