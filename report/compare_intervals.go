package report

import (
	"fmt"
	"time"

	"github.com/tailgate-dev/tailgate/budget"
	"github.com/tailgate-dev/tailgate/histogram"
)

// WithIntervals returns a copy of r whose percentiles carry their
// confidence intervals at level confidence (0.9 for 90%), computed from the
// histograms of log, the interval log of the run r reports (its run.hlog):
// report.json carries 95% intervals only, and Compare needs both runs'
// intervals at one level. r is not changed.
//
// log must be r's own: a log of another plan (both saying which), or whose
// sample counts differ from r's lines, is an error, as is a line r measured
// that log has no samples of.
func WithIntervals(r *budget.Result, log *histogram.Log, confidence float64) (*budget.Result, error) {
	if log.Header != nil && log.Header.Identity != "" && r.Plan.Identity != "" && log.Header.Identity != r.Plan.Identity {
		return nil, fmt.Errorf("the log is of plan %s and the report of plan %s", log.Header.Identity, r.Plan.Identity)
	}
	out := *r
	out.Lines = append([]budget.Line(nil), r.Lines...)
	for i, l := range out.Lines {
		if len(l.Percentiles) == 0 || !observed(l) {
			continue
		}
		h := log.Rec.Histogram(l.Source)
		if h == nil || h.TotalCount() == 0 {
			return nil, fmt.Errorf("the log has no samples of %s, which the report's line %s measured", l.Source, l.Name)
		}
		if l.Count > 0 && h.TotalCount() != l.Count {
			return nil, fmt.Errorf("the log holds %d samples of %s and the report's line %s %d: not the log of this report", h.TotalCount(), l.Source, l.Name, l.Count)
		}
		l.Percentiles = append([]budget.Percentile(nil), l.Percentiles...)
		for j, p := range l.Percentiles {
			if !finite(p.ObservedMs) {
				continue
			}
			ci := histogram.Interval(h, p.P, confidence)
			p.CILowMs, p.CIHighMs = nil, nil
			if ci.LowOK {
				p.CILowMs = msPtr(ci.Low)
			}
			if ci.HighOK {
				p.CIHighMs = msPtr(ci.High)
			}
			l.Percentiles[j] = p
		}
		out.Lines[i] = l
	}
	return &out, nil
}

func msPtr(d time.Duration) *float64 {
	v := float64(d) / float64(time.Millisecond)
	return &v
}
