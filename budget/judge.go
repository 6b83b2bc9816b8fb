package budget

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/tailgate-dev/tailgate/histogram"
	"github.com/tailgate-dev/tailgate/scenario"
	"github.com/tailgate-dev/tailgate/schedule"
)

// Measurement is what Judge needs to know about a run beyond its histograms.
type Measurement struct {
	Mode            string // run | simulate
	Engine          string // the engine that sent the requests; "" for a simulation
	Rec             *histogram.Recorder
	Planned         int64
	PlannedDuration time.Duration
	SendSpan        time.Duration // start → actual send of the last request
	Elapsed         time.Duration
	Interrupted     bool
	// LagSource names the histogram of schedule lag; "" when the mode has
	// no generator to fall behind (simulate).
	LagSource string
	// Schedule is the plan that was played (a shard's, in a distributed
	// run); nil means the scenario's own.
	Schedule *schedule.Schedule
	// Started is when the run began; zero for a simulation.
	Started time.Time
	// Incomplete, when set, says what of the plan the measurement lacks
	// ("shards 2/4 and 3/4 are missing"): there is no verdict on a part.
	Incomplete string
}

// Judge compares a measurement with the scenario's budget, line by line at
// every percentile given, and decides the verdict.
func Judge(sc *scenario.Scenario, m Measurement) *Result {
	c := m.Rec.Counts
	r := &Result{
		Schema:      Schema,
		Scenario:    sc.Name,
		Description: sc.Description,
		Mode:        m.Mode,
		Engine:      m.Engine,
		Partial:     m.Interrupted,
		Requests: Requests{
			Planned:        m.Planned,
			Sent:           c.Sent,
			OK:             c.OK,
			Errors:         c.Errors,
			NewConnections: c.NewConnections,
			Responses:      c.Responses,
			Redirects:      c.Redirects,
			FirstLocation:  c.FirstLocation,
			DurationS:      m.PlannedDuration.Seconds(),
			ElapsedS:       m.Elapsed.Seconds(),
		},
	}
	if m.PlannedDuration > 0 {
		r.Requests.PlannedRate = float64(m.Planned) / m.PlannedDuration.Seconds()
		// Over at least the planned duration: a generator that sends the last
		// request late has achieved less than planned. An interrupted run
		// achieved what it sent in the time it ran.
		span := max(m.SendSpan, m.PlannedDuration)
		if m.Interrupted && m.Elapsed > 0 {
			span = m.Elapsed
		}
		r.Requests.AchievedRate = float64(c.Sent) / span.Seconds()
	}
	confidence := 0.0
	if c := sc.Budget.Confidence; c != nil {
		confidence = float64(*c)
		r.Confidence = confidence
	}
	for _, l := range sc.Budget.Lines {
		r.Lines = append(r.Lines, judgeLine(l, m.Rec, confidence))
	}
	// Nothing unbudgeted passes: without an errors line the default one is
	// judged; only `errors: off` leaves failures unjudged.
	if limit, isDefault, ok := sc.Budget.ErrorLimit(); ok {
		l := judgeErrors(float64(limit), c)
		l.Default = isDefault
		r.Lines = append(r.Lines, l)
	}
	for class, n := range c.ByClass {
		r.Errors = append(r.Errors, Count{Class: class, Count: n, First: c.FirstError[class]})
	}
	slices.SortFunc(r.Errors, func(a, b Count) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Class, b.Class))
	})
	r.Plan = plan(sc, m.Schedule)
	if !m.Started.IsZero() {
		r.StartedAt = ptr(m.Started.UTC())
	}
	r.Saturation = saturation(m, r.Requests)
	r.Connections = connections(m.Rec)
	r.Tail = tail(sc, m.Rec.Tail)
	if c.Clamped > 0 {
		r.Warnings = append(r.Warnings, fmt.Sprintf("%d samples exceeded the histogram's range of 1h and were recorded as 1h", c.Clamped))
	}
	if c.DroppedMetrics > 0 {
		r.Warnings = append(r.Warnings, fmt.Sprintf("%d Server-Timing samples were not recorded: the target sent more distinct metric names than tailgate keeps", c.DroppedMetrics))
	}
	r.Verdict = verdict(r, m)
	if r.Verdict == Pass {
		// Nothing is over, and some line could not be told: no verdict.
		if why := inconclusive(r, m.Rec, confidence); len(why) > 0 {
			r.Reasons = append(r.Reasons, "inconclusive: "+strings.Join(why, "; "))
			r.Verdict = Invalid
		}
	}
	return r
}

// ReportedConfidence is the level of the interval every judged percentile
// carries in a result, whether or not the budget judges by it.
const ReportedConfidence = 0.95

// judgeLine judges one line at each of its percentiles: by the observed
// value, or, when the budget sets a confidence level, by the interval at
// that level (over only when its low end is over the limit, within only
// when its high end is within; inconclusive otherwise). Every percentile
// carries its 95% interval either way.
func judgeLine(l scenario.Line, rec *histogram.Recorder, confidence float64) Line {
	out := Line{Name: l.Name, Source: l.Source, Verdict: OK}
	h := rec.Histogram(l.Source)
	for _, p := range l.Percentiles {
		limit := p.Limit.D()
		pr := Percentile{P: p.P, BudgetMs: ms(limit), Verdict: NoData}
		if h != nil && h.TotalCount() > 0 {
			n := h.TotalCount()
			v := histogram.ValueAt(h, p.P)
			out.Count = n
			pr.ObservedMs = ptr(ms(v))
			pr.MarginMs = ptr(ms(limit - v))
			pr.Rank = histogram.Rank(p.P, n)
			ci := histogram.Interval(h, p.P, ReportedConfidence)
			if ci.LowOK {
				pr.CILowMs = ptr(ms(ci.Low))
			}
			if ci.HighOK {
				pr.CIHighMs = ptr(ms(ci.High))
			}
			// Over only beyond HDR precision: the bottom of the observed
			// value's bucket must exceed the limit.
			pr.Verdict = OK
			if histogram.LowestEquivalent(v) > limit {
				pr.Verdict = Over
			}
			if confidence > 0 {
				if confidence != ReportedConfidence {
					ci = histogram.Interval(h, p.P, confidence)
				}
				switch {
				case ci.LowOK && histogram.LowestEquivalent(ci.Low) > limit:
					pr.Verdict = Over
				case ci.HighOK && histogram.LowestEquivalent(ci.High) <= limit:
					pr.Verdict = OK
				default:
					pr.Verdict = Inconclusive
				}
			}
		}
		out.Percentiles = append(out.Percentiles, pr)
		out.Verdict = worse(out.Verdict, pr.Verdict)
	}
	return out
}

// worse is the line verdict of two: no data, then over, then
// inconclusive, then ok.
func worse(a, b LineVerdict) LineVerdict {
	if severity(b) > severity(a) {
		return b
	}
	return a
}

func severity(v LineVerdict) int {
	switch v {
	case Inconclusive:
		return 1
	case Over:
		return 2
	case NoData:
		return 3
	}
	return 0
}

// inconclusive says, for each inconclusive percentile, what the sample
// could not tell and about how many requests would tell it: the fewest
// that bound the percentile at all, or, when the interval straddles the
// limit, the count that shrinks it (as 1/√n) off the limit if the
// distribution holds.
func inconclusive(r *Result, rec *histogram.Recorder, confidence float64) []string {
	var out []string
	for _, l := range r.Lines {
		for _, p := range l.Percentiles {
			if p.Verdict != Inconclusive || p.ObservedMs == nil {
				continue
			}
			h := rec.Histogram(l.Source)
			n := h.TotalCount()
			ci := histogram.Interval(h, p.P, confidence)
			need := histogram.MinSamples(p.P, confidence)
			obs, limit := *p.ObservedMs, p.BudgetMs
			lo, hi := "?", "?"
			if ci.LowOK {
				lo = histogram.Millis(ms(ci.Low))
			}
			if ci.HighOK {
				hi = histogram.Millis(ms(ci.High))
			}
			what := fmt.Sprintf("%s p%g %s (%s interval %s–%s) straddles its %s limit", l.Label(), p.P, histogram.Millis(obs), percentText(confidence), lo, hi, histogram.Millis(limit))
			if ci.LowOK && ci.HighOK {
				half := ms(ci.High) - obs
				if obs > limit {
					half = obs - ms(ci.Low)
				}
				if gap := math.Abs(obs - limit); gap > 0 {
					need = max(need, int64(math.Ceil(float64(n)*(half/gap)*(half/gap))))
				} else {
					need = 0
				}
			}
			side := ""
			switch {
			case !ci.HighOK && obs <= limit:
				side = "above"
			case !ci.LowOK && obs > limit:
				side = "below"
			}
			switch {
			case side != "":
				out = append(out, fmt.Sprintf("%s p%g %s is %s its %s limit, but %s samples cannot bound a p%g from %s at %s: at least %s would",
					l.Label(), p.P, histogram.Millis(obs), map[bool]string{true: "within", false: "over"}[obs <= limit], histogram.Millis(limit),
					Thousands(n), p.P, side, percentText(confidence), Thousands(histogram.MinSamples(p.P, confidence))))
			case need == 0:
				out = append(out, fmt.Sprintf("%s (observed on the limit: no sample size decides it)", what))
			case need <= n:
				out = append(out, fmt.Sprintf("%s (%s samples)", what, Thousands(n)))
			default:
				out = append(out, fmt.Sprintf("%s: about %s samples would make it conclusive (%s measured)", what, Thousands(need), Thousands(n)))
			}
		}
	}
	return out
}

func percentText(r float64) string { return scenario.Ratio(r).String() }

func judgeErrors(budget float64, c histogram.Counts) Line {
	out := Line{Name: "errors", Source: "errors", Count: c.Sent, BudgetRatio: ptr(budget), Verdict: NoData}
	if c.Sent == 0 {
		return out
	}
	obs := float64(c.Errors) / float64(c.Sent)
	out.ObservedRatio = ptr(obs)
	out.Verdict = OK
	if obs > budget {
		out.Verdict = Over
	}
	return out
}

func saturation(m Measurement, req Requests) Saturation {
	s := Saturation{AchievedRatio: 1}
	if req.PlannedRate > 0 && !m.Interrupted {
		s.AchievedRatio = req.AchievedRate / req.PlannedRate
	}
	if m.LagSource == "" {
		return s
	}
	if lag, _, ok := m.Rec.Percentile(m.LagSource, 50); ok {
		s.LagP50Ms = ms(lag)
	}
	if lag, _, ok := m.Rec.Percentile(m.LagSource, 99); ok {
		s.LagP99Ms = ms(lag)
		s.Saturated = lag > MaxLagP99
	}
	if s.AchievedRatio < MinAchievedRate {
		s.Saturated = true
	}
	return s
}

// verdict decides pass, fail or invalid. Invalid wins: a run that was
// interrupted, never reached the target or could not keep to its schedule
// says nothing trustworthy about the budget.
func verdict(r *Result, m Measurement) Verdict {
	if m.Interrupted {
		r.Reasons = append(r.Reasons, fmt.Sprintf("interrupted after %d of %d planned requests", r.Requests.Sent, r.Requests.Planned))
	}
	// A target that answered, however badly, is judged: failures are the
	// errors line's to count. So is one that took connections and never
	// answered on them (a hung service): it is there, and broken. Only a
	// target no request reached leaves no verdict.
	if m.Mode != "simulate" && r.Requests.Sent > 0 && r.Requests.Responses == 0 && r.Requests.NewConnections == 0 {
		r.Reasons = append(r.Reasons, unreachable(r.Errors))
	}
	if m.Incomplete != "" {
		r.Reasons = append(r.Reasons, "incomplete: "+m.Incomplete)
	}
	if r.Requests.Sent == 0 && !m.Interrupted {
		r.Reasons = append(r.Reasons, "no request was sent")
	}
	generator(r, m)
	switch {
	case len(r.Reasons) > 0:
		return Invalid
	case r.Failed() > 0:
		return Fail
	}
	return Pass
}

// generator judges the load generator's part in the verdict, adding a
// reason (no verdict) or a warning (the verdict stands) that names only the
// condition that failed. Lag adds to total, which makes it pessimistic,
// never optimistic:
//   - a pass stands whatever the lag; it is invalid only when under 95% of
//     the planned rate went out (the target saw less load than promised);
//   - a fail stands however little went out; it is invalid for lag only when
//     every line over budget would be within it on the lag-free measurement
//     (service time for total; every other phase is measured from the
//     actual send and holds no lag).
func generator(r *Result, m Measurement) {
	s := r.Saturation
	if !s.Saturated {
		return
	}
	hint := ""
	if m.Engine == string(scenario.EngineVegeta) {
		hint = "; the native engine sustains higher rates: try --engine native"
	}
	lagged := s.LagP99Ms > ms(MaxLagP99)
	behind := fmt.Sprintf("the load generator fell behind: this machine was busy, lag p99 %s (over %s)", histogram.Millis(s.LagP99Ms), MaxLagP99)
	short := s.AchievedRatio < MinAchievedRate
	underRate := fmt.Sprintf("the load generator sent %.1f%% of the planned rate (under %.0f%%)", 100*s.AchievedRatio, 100*MinAchievedRate)
	if r.Failed() == 0 {
		switch {
		case short:
			r.Reasons = append(r.Reasons, underRate+": the target saw less load than planned, so the pass is not shown"+hint)
		case lagged:
			r.Warnings = append(r.Warnings, behind+": totals are pessimistic by up to the lag, and the pass stands")
		}
		return
	}
	if short && !lagged {
		r.Warnings = append(r.Warnings, underRate+": the target saw less load than planned and failed all the same: the fail stands")
		return
	}
	if why, stands := lagCannotFlip(r, m); stands {
		r.Warnings = append(r.Warnings, behind+": "+why)
		return
	}
	r.Reasons = append(r.Reasons, behind+"; without it every line over budget would be within it (measured from the actual send)"+hint)
}

// lagCannotFlip says whether a fail stands although the generator fell
// behind, and why: some line is over that lag does not explain. A line
// other than total is measured from the actual send and holds no lag; a
// total percentile over its budget is explained by lag only when the same
// percentile of service time (actual send → last byte, the lag-free
// measurement) is within it.
func lagCannotFlip(r *Result, m Measurement) (string, bool) {
	for _, l := range r.Lines {
		if l.Verdict == OK || l.Verdict == Inconclusive {
			continue
		}
		if l.Source != scenario.SourceTotal {
			return fmt.Sprintf("%s is %s, which lag does not enter: the fail stands", l.Label(), l.Verdict), true
		}
		for _, p := range l.Percentiles {
			if p.Verdict != Over {
				continue
			}
			limit := time.Duration(p.BudgetMs * float64(time.Millisecond))
			if v, _, ok := m.Rec.Percentile(scenario.SourceService, p.P); ok && histogram.LowestEquivalent(v) > limit {
				return fmt.Sprintf("%s p%g is over its budget even without the lag (service time p%g %s): the fail stands", l.Label(), p.P, p.P, histogram.Millis(ms(v))), true
			}
		}
	}
	return "", false
}

// unreachable says that no response arrived, with the first message of
// each class of failure and what to check.
func unreachable(errs []Count) string {
	var parts []string
	for _, e := range errs {
		p := fmt.Sprintf("%d %s", e.Count, e.Class)
		if e.First != "" {
			p += " (first: " + e.First + ")"
		}
		if h := hint(e.Class, e.First); h != "" {
			p += ": " + h
		}
		parts = append(parts, p)
	}
	return "target unreachable: no connection was made and no response arrived: " + strings.Join(parts, "; ")
}

// hint says what to check for a kind of unreachable target. The class
// decides; for tls, the first message tells a certificate that was not
// trusted from a port that does not speak TLS.
func hint(class, first string) string {
	if class == "tls" && strings.Contains(first, "does not look like a TLS handshake") {
		return "the target does not speak TLS on that port: use http://, or the TLS port"
	}
	return hints[class]
}

// hints say what to check for each kind of unreachable target.
var hints = map[string]string{
	"refused": "is the target running and listening on that port?",
	"dns":     "is the host name right, and resolvable from here?",
	"tls":     "the certificate was not accepted; for a test server with a self-signed certificate set target.insecure: true",
	"timeout": "no connection within target.timeout: is the address reachable from here (firewall, wrong host or port)?",
	"reset":   "connections were closed while being made: is it the right port and protocol (http vs https)?",
}

func connections(rec *histogram.Recorder) Connections {
	c := Connections{New: rec.Counts.NewConnections}
	if rec.Counts.Sent > 0 {
		c.NewShare = float64(c.New) / float64(rec.Counts.Sent)
	}
	if v, n, ok := rec.Percentile(histogram.SourceTotalCold, 99); ok {
		c.ColdP99Ms, c.ColdCount = ptr(ms(v)), n
	}
	if v, n, ok := rec.Percentile(histogram.SourceTotalWarm, 99); ok {
		c.WarmP99Ms, c.WarmCount = ptr(ms(v)), n
	}
	return c
}

// phaseNames name phases no budget line measures.
var phaseNames = map[string]string{
	"lag":                              "schedule lag",
	scenario.SourceConnect:             "network",
	scenario.SourceTTFB:                "server",
	scenario.ServerTimingPrefix + "db": "database",
}

// tail names each phase after the budget line that measures it, so the
// attribution reads in the budget's own words ("database", not "server-timing:db").
func tail(sc *scenario.Scenario, t *histogram.Tail) Tail {
	out := Tail{Requests: t.Len(), Phases: []Phase{}}
	for _, s := range t.Attribution() {
		name := s.Name
		if n, ok := phaseNames[name]; ok {
			name = n
		} else if metric, ok := strings.CutPrefix(name, scenario.ServerTimingPrefix); ok {
			name = metric
		}
		for _, l := range sc.Budget.Lines {
			if l.Source == s.Name {
				name = l.Name
				break
			}
		}
		out.Phases = append(out.Phases, Phase{Name: name, Source: s.Name, Share: s.Fraction})
	}
	return out
}

func plan(sc *scenario.Scenario, s *schedule.Schedule) Plan {
	if s == nil {
		s = schedule.Of(sc)
	}
	p := Plan{Seed: sc.SeedValue(), Identity: sc.Identity(), Requests: s.Requests(), DurationS: s.Duration().Seconds(),
		MeanRate: s.MeanRate(), PeakRate: s.PeakRate(), Segments: []PlanSegment{}}
	for _, g := range s.Segments() {
		p.Segments = append(p.Segments, PlanSegment{Kind: g.Kind, StartS: g.Start.Seconds(),
			DurationS: g.Duration.Seconds(), Requests: g.Requests, PeakRate: g.Peak})
	}
	return p
}
