package sim

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tailgate-dev/tailgate/budget"
	"github.com/tailgate-dev/tailgate/scenario"
	"github.com/tailgate-dev/tailgate/schedule"
)

// Bounds of a sweep: it doubles the rate scale at most up to MaxFactor and
// halves it at most down to 1/MaxFactor, simulates at most
// MaxSweepRequests requests per step, and bisects until the factor is
// known within SweepPrecision.
const (
	MaxFactor        = 1024
	MaxSweepRequests = 20_000_000
	SweepPrecision   = 0.01
)

// Step is one rate scale a sweep simulated.
type Step struct {
	Factor   float64
	Verdict  budget.Verdict
	Requests int64
	PeakRate float64 // per second
	MeanRate float64 // per second
	// TotalP99 is the total's p99, when any request succeeded.
	TotalP99 *time.Duration
	// Failed names the lines over budget or without data.
	Failed []string
}

// Pass reports whether the step was within budget.
func (s Step) Pass() bool { return s.Verdict == budget.Pass }

// Sweep is the search for the highest rate scale still within budget.
type Sweep struct {
	// Steps holds every factor tried, in the order tried.
	Steps []Step
	// Knee is the largest factor found within budget, nil when none was.
	Knee *Step
	// Fails is the smallest factor found over budget above the knee, nil
	// when none was (the search hit its ceiling first).
	Fails *Step
	// Stopped says why the search did not go further, when it hit a bound.
	Stopped string
}

// RunSweep scales the scenario's traffic (every rate, the shape kept) and
// bisects for the largest factor whose simulation is within budget: from ×1
// it doubles until a factor fails (or halves until one passes), then
// bisects between the last pass and the first failure. A verdict need not
// be monotonic in the factor — random arrivals are drawn afresh at each
// rate — so the knee is the one bisection found.
//
// It stops when ctx ends: the steps simulated whole are kept and Stopped
// says "interrupted"; ended before the first step (×1) was, it returns
// context.Cause(ctx).
func RunSweep(ctx context.Context, sc *scenario.Scenario) (*Sweep, error) {
	sw := &Sweep{}
	try := func(f float64) (*Step, error) {
		s := sc
		if f != 1 {
			var err error
			if s, err = sc.ScaleRates(f); err != nil {
				return nil, err
			}
		}
		sched := schedule.Of(s)
		if sched.Requests() > MaxSweepRequests {
			return nil, fmt.Errorf("×%s plans %d requests, more than a sweep simulates (%d)", factor(f), sched.Requests(), MaxSweepRequests)
		}
		out, err := RunSchedule(ctx, s, sched)
		if err != nil {
			return nil, err
		}
		res := Judge(s, out)
		st := Step{Factor: f, Verdict: res.Verdict, Requests: out.Planned, PeakRate: sched.PeakRate(), MeanRate: sched.MeanRate()}
		if v, _, ok := out.Rec.Percentile(scenario.SourceTotal, 99); ok {
			st.TotalP99 = &v
		}
		for _, l := range res.Lines {
			if l.Verdict != budget.OK {
				st.Failed = append(st.Failed, l.Name)
			}
		}
		if res.Verdict == budget.Invalid && len(st.Failed) == 0 {
			st.Failed = append(st.Failed, "no request succeeded")
		}
		sw.Steps = append(sw.Steps, st)
		return &sw.Steps[len(sw.Steps)-1], nil
	}
	first, err := try(1)
	if err != nil {
		return nil, err
	}
	// The largest factor within budget and the smallest over it, so far
	// (0: none yet). Steps move as more are appended: they are looked up
	// by factor at the end.
	var loF, hiF float64
	if first.Pass() {
		loF = 1
		for f := 2.0; ; f *= 2 {
			if f > MaxFactor {
				sw.Stopped = fmt.Sprintf("within budget up to ×%d, the sweep's ceiling", MaxFactor)
				break
			}
			if ctx.Err() != nil {
				sw.Stopped = "interrupted"
				break
			}
			st, err := try(f)
			if err != nil && ctx.Err() != nil {
				break
			}
			if err != nil {
				sw.Stopped = fmt.Sprintf("within budget up to ×%s; ×%s cannot be simulated: %v", factor(loF), factor(f), err)
				break
			}
			if !st.Pass() {
				hiF = f
				break
			}
			loF = f
		}
	} else {
		hiF = 1
		for f := 0.5; ; f /= 2 {
			if f < 1.0/MaxFactor {
				sw.Stopped = fmt.Sprintf("over budget even at ×1/%d of the traffic: the budget fails without load", MaxFactor)
				break
			}
			if ctx.Err() != nil {
				sw.Stopped = "interrupted"
				break
			}
			st, err := try(f)
			if err != nil && ctx.Err() != nil {
				break
			}
			if err != nil {
				// Scaled down to nothing: the plan sends no request.
				sw.Stopped = fmt.Sprintf("over budget down to ×%s; below that the plan sends no request: the budget fails without load", factor(hiF))
				break
			}
			if st.Pass() {
				loF = f
				break
			}
			hiF = f
		}
	}
	for loF > 0 && hiF > 0 && (hiF-loF)/loF > SweepPrecision && ctx.Err() == nil {
		f := (loF + hiF) / 2
		st, err := try(f)
		if err != nil && ctx.Err() != nil {
			break
		}
		if err != nil {
			sw.Stopped = err.Error()
			break
		}
		if st.Pass() {
			loF = f
		} else {
			hiF = f
		}
	}
	if ctx.Err() != nil && sw.Stopped == "" {
		sw.Stopped = "interrupted"
	}
	find := func(f float64) *Step {
		for i := range sw.Steps {
			if sw.Steps[i].Factor == f {
				return &sw.Steps[i]
			}
		}
		return nil
	}
	if loF > 0 {
		sw.Knee = find(loF)
	}
	if hiF > 0 {
		sw.Fails = find(hiF)
	}
	return sw, nil
}

// Write prints the factors tried, smallest first, and the knee.
func (sw *Sweep) Write(w io.Writer) error {
	var b strings.Builder
	b.WriteString("sweep: every rate × factor, bisected for the largest factor within budget\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 3, ' ', 0)
	fmt.Fprintln(tw, "  factor\tpeak rate\tmean rate\trequests\ttotal p99\tverdict")
	steps := slices.Clone(sw.Steps)
	slices.SortFunc(steps, func(a, b Step) int {
		switch {
		case a.Factor < b.Factor:
			return -1
		case a.Factor > b.Factor:
			return 1
		}
		return 0
	})
	for _, s := range steps {
		p99 := "no data"
		if s.TotalP99 != nil {
			p99 = milli(*s.TotalP99)
		}
		fmt.Fprintf(tw, "  ×%s\t%s/s\t%s/s\t%d\t%s\t%s\n", factor(s.Factor), rate(s.PeakRate), rate(s.MeanRate), s.Requests, p99, verdict(s))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	switch k := sw.Knee; {
	case k == nil:
		b.WriteString("knee: none found")
	default:
		fmt.Fprintf(&b, "knee: ×%s (peak %s/s, mean %s/s) is the highest rate scale within budget", factor(k.Factor), rate(k.PeakRate), rate(k.MeanRate))
		if f := sw.Fails; f != nil {
			fmt.Fprintf(&b, "; ×%s fails (%s)", factor(f.Factor), strings.Join(f.Failed, ", "))
		}
	}
	if sw.Stopped != "" {
		b.WriteString("; " + sw.Stopped)
	}
	b.WriteByte('\n')
	_, err := io.WriteString(w, b.String())
	return err
}

func verdict(s Step) string {
	if s.Pass() {
		return "pass"
	}
	return "FAIL: " + strings.Join(s.Failed, ", ")
}

// factor formats a scale factor with up to three decimals: 1, 2.5, 0.125, 3.406.
func factor(f float64) string {
	if f < 0.01 {
		return strconv.FormatFloat(f, 'g', 3, 64)
	}
	return strconv.FormatFloat(math.Round(f*1000)/1000, 'f', -1, 64)
}

func rate(r float64) string {
	return strings.TrimSuffix(strconv.FormatFloat(r, 'f', 1, 64), ".0")
}

// milli formats a duration with three significant digits: 44.0ms, 131ms, 2.20s.
func milli(d time.Duration) string {
	v := float64(d) / float64(time.Millisecond)
	switch {
	case v < 10:
		return strconv.FormatFloat(v, 'f', 2, 64) + "ms"
	case v < 100:
		return strconv.FormatFloat(v, 'f', 1, 64) + "ms"
	case v < 1000:
		return strconv.FormatFloat(v, 'f', 0, 64) + "ms"
	case v < 10000:
		return strconv.FormatFloat(v/1000, 'f', 2, 64) + "s"
	}
	return strconv.FormatFloat(v/1000, 'f', 1, 64) + "s"
}
