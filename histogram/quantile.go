package histogram

import (
	"math"
	"math/bits"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Percentiles are nearest-rank, as in HdrHistogram's Java reference and
// hdr-histogram-js: the value at percentile p is the smallest recorded value
// with at least p% of the samples at or below it. hdrhistogram-go's
// ValueAtQuantile rounds the rank to the nearest instead (p99 of 160 samples
// is its 158th, one rank low) and is called here only, with a percentile
// that makes its rank the one we ask for.

// rankEpsilon is the relative slack Rank allows p/100·n before rounding it
// up. Computing p/100·n in float64 errs by at most ~3.3e-16 relative (p is
// the double nearest a decimal, then a division and a product), so 1e-14
// absorbs it; a true fraction above a whole rank is at least 10^-(d+2) for
// a percentile of d decimals (99.9: d = 1), larger than 1e-14·p/100·n up
// to ten billion samples at p99.999.
const rankEpsilon = 1e-14

// Rank is the nearest rank of percentile p (0–100) among n samples: the
// smallest k with k ≥ p/100·n, computed with a small epsilon so that
// floating point never pushes it up a rank (99.9 of 1000 is 999; 99 of 160
// is 159); at least 1, at most n. n > 0.
//
// Rank(50, 4) is 2, Rank(50, 5) is 3, Rank(100, n) is n, Rank(0, n) is 1.
func Rank(p float64, n int64) int64 {
	x := p / 100 * float64(n)
	if !(x > 0) { // p ≤ 0 and NaN
		return 1
	}
	if x >= float64(n) {
		return n
	}
	k := int64(math.Ceil(x - x*rankEpsilon))
	return min(max(k, 1), n)
}

// ValueAtRank is the k-th smallest recorded value (1-based) of h, reported as
// the highest value equivalent to it within the histogram's precision (as
// hdrhistogram-go and the Java reference report percentiles). k is clamped to 1..count.
// An empty histogram has no values: ValueAtRank is 0.
func ValueAtRank(h *hdrhistogram.Histogram, k int64) time.Duration {
	n := h.TotalCount()
	if n == 0 {
		return 0
	}
	return us(h.ValueAtQuantile(quantileOfRank(min(max(k, 1), n), n)))
}

// quantileOfRank is the percentile (0–100) at which hdrhistogram-go reads
// rank k of n: it reads rank ⌊q/100·n + ½⌋, so q = 100·(k − ¼)/n lands a
// quarter rank inside k, far beyond floating point's error. Being above 0,
// it also makes hdrhistogram-go report the highest equivalent value.
func quantileOfRank(k, n int64) float64 {
	return 100 * (float64(k) - 0.25) / float64(n)
}

// ValueAt is the nearest-rank value at percentile p (0–100):
// ValueAtRank(h, Rank(p, count)), 0 when h is empty. ValueAt(h, 100) is the
// maximum; ValueAt(h, 0) is the highest value equivalent to the minimum
// (where Java reports the lowest).
func ValueAt(h *hdrhistogram.Histogram, p float64) time.Duration {
	n := h.TotalCount()
	if n == 0 {
		return 0
	}
	return ValueAtRank(h, Rank(p, n))
}

// ValuesAt is ValueAt at each of ps, in their order, read in one pass over
// h: several percentiles of one histogram cost one scan.
func ValuesAt(h *hdrhistogram.Histogram, ps ...float64) []time.Duration {
	out := make([]time.Duration, len(ps))
	n := h.TotalCount()
	if n == 0 || len(ps) == 0 {
		return out
	}
	qs := make([]float64, len(ps))
	for i, p := range ps {
		qs[i] = quantileOfRank(Rank(p, n), n)
	}
	for i, v := range h.ValueAtPercentilesSlice(qs) {
		out[i] = us(v)
	}
	return out
}

// CI is a distribution-free confidence interval for a percentile, from order
// statistics. A side the sample cannot bound (too few samples below or above
// the percentile) is not OK and its value is meaningless (zero).
//
// With [LowRank, HighRank] = [l, u] and the sample's order statistics
// X(1) ≤ … ≤ X(n), the interval is [X(l), X(u)]: whatever the distribution,
// the percentile lies below X(l) with probability at most (1−conf)/2, and
// above X(u) with probability at most (1−conf)/2.
type CI struct {
	Low, High         time.Duration
	LowRank, HighRank int64 // the order statistics used (1-based); 0 or n+1 when unbounded
	LowOK, HighOK     bool
}

// Interval returns the two-sided interval at confidence level conf (0.95 for
// 95%: each side misses with probability at most (1−conf)/2) for percentile p
// of h's samples: the ranks l < u around p·n from the binomial B(n, p/100),
// read from the histogram (Low is the lowest value equivalent to the l-th
// sample, High the highest equivalent to the u-th, so HDR rounding never
// narrows it).
//
// l is the largest rank with P(B ≤ l−1) ≤ (1−conf)/2 (the l-th sample is
// above the percentile only if fewer than l samples fall below it) and u the
// smallest with P(B ≥ u) ≤ (1−conf)/2. The tails are exact binomial sums, so
// the interval covers the percentile with probability at least conf for
// every n; it contains ValueAt(h, p). With n = 160, p99's interval has no
// upper side: 0.99^160 = 0.20 of samples have no value at all above p99.
func Interval(h *hdrhistogram.Histogram, p, conf float64) CI {
	n := h.TotalCount()
	if n == 0 {
		return CI{HighRank: 1}
	}
	var ci CI
	ci.LowRank, ci.HighRank, ci.LowOK, ci.HighOK = orderRanks(n, p/100, (1-conf)/2)
	if ci.LowOK {
		ci.Low = us(lowestEquivalentValue(h, int64(ValueAtRank(h, ci.LowRank)/time.Microsecond)))
	}
	if ci.HighOK {
		ci.High = ValueAtRank(h, ci.HighRank)
	}
	return ci
}

// MinSamples is the fewest samples for which Interval(…, p, conf) bounds the
// percentile on both sides (both LowOK and HighOK): e.g. p99 at 95% needs
// ceil(ln(0.025)/ln(0.99)) = 368. The low side needs (1−p/100)^n ≤
// (1−conf)/2 (else even the smallest sample may be above the percentile),
// the high side (p/100)^n ≤ (1−conf)/2. p0 and p100 have a side no sample
// bounds: MinSamples is math.MaxInt64 for them.
func MinSamples(p, conf float64) int64 {
	q, a := clampQ(p/100), (1-conf)/2
	if q <= 0 || q >= 1 || !(a > 0) {
		return math.MaxInt64
	}
	return max(minBounding(math.Log1p(-q), a), minBounding(math.Log(q), a))
}

// minBounding is the smallest n ≥ 1 with bounds(n, logP, a): logP is the log
// of the probability that one sample misses the side.
func minBounding(logP, a float64) int64 {
	if bounds(1, logP, a) {
		return 1
	}
	n := int64(math.Ceil(math.Log(a) / logP))
	// The quotient may be a rank off in floating point: settle n on the very
	// predicate Interval uses, so the two agree at n−1 and n.
	for !bounds(n, logP, a) {
		n++
	}
	for n > 1 && bounds(n-1, logP, a) {
		n--
	}
	return n
}

// bounds says whether n samples bound a side whose every sample misses
// with probability exp(logP): all n miss with probability at most a.
func bounds(n int64, logP, a float64) bool {
	return float64(n)*logP <= math.Log(a)
}

func clampQ(q float64) float64 {
	if !(q > 0) {
		return 0
	}
	return min(q, 1)
}

// orderRanks returns the order statistics l and u bounding quantile q of n
// samples, each side missing with probability at most a: l the largest rank
// with P(B ≤ l−1) ≤ a and u the smallest with P(B ≥ u) ≤ a, B ~ B(n, q).
// A side no rank bounds is not ok, with l = 0 or u = n+1.
//
// The binomial is summed exactly in weights relative to its mode (no
// factorials, so nothing loses precision at large n), over the ranks whose
// weight is above 1e-30 of the mode's: the ranks beyond add up to less than
// 1e-25, nothing next to any tail a confidence level asks of.
func orderRanks(n int64, q, a float64) (l, u int64, lowOK, highOK bool) {
	q = clampQ(q)
	lowOK = q > 0 && bounds(n, math.Log1p(-q), a)
	highOK = q < 1 && bounds(n, math.Log(q), a)
	l, u = 0, n+1
	switch {
	case q == 0:
		// Every sample is at or above the 0th percentile.
		u = 1
	case q == 1:
		l = n
	default:
		l, u = binomialRanks(n, q, a)
	}
	// The predicate MinSamples uses decides whether a side is bounded, so
	// the two agree exactly; the sums decide which rank bounds it.
	if !lowOK {
		l = 0
	} else {
		l = min(max(l, 1), n)
	}
	if !highOK {
		u = n + 1
	} else {
		u = min(max(u, 1), n)
	}
	return l, u, lowOK, highOK
}

// binomialRanks is orderRanks for 0 < q < 1 before the bounded sides are
// settled: l may be 0 and u n+1.
func binomialRanks(n int64, q, a float64) (l, u int64) {
	const negligible = 1e-30
	odds := q / (1 - q)
	// up and down step a weight w(j) ∝ P(B = j) one rank.
	up := func(j int64, w float64) float64 { return w * float64(n-j) / float64(j+1) * odds }
	down := func(j int64, w float64) float64 { return w * float64(j) / float64(n-j+1) / odds }

	mode := min(int64(float64(n+1)*q), n)
	// The support that matters: [lo, hi] with weights wLo, wHi at its ends,
	// and their total.
	total := 1.0
	lo, wLo := mode, 1.0
	for lo > 0 {
		w := down(lo, wLo)
		if w < negligible {
			break
		}
		lo, wLo = lo-1, w
		total += w
	}
	hi, wHi := mode, 1.0
	for hi < n {
		w := up(hi, wHi)
		if w < negligible {
			break
		}
		hi, wHi = hi+1, w
		total += w
	}

	// Lower tail: the largest j with P(B ≤ j) ≤ a, so l = j+1. Below lo
	// the tail is negligible, so j ≥ lo−1.
	limit := a * total
	j, w, cum := lo, wLo, wLo
	for cum <= limit && j < hi {
		w = up(j, w)
		j++
		cum += w
	}
	// cum is P(B ≤ j) (times total) and the first above a, unless j reached
	// hi with all of it below (a ≥ 1).
	if cum <= limit {
		j++
	}
	l = j // = (j−1) + 1

	// Upper tail: the smallest u with P(B ≥ u) ≤ a. Above hi the tail is
	// negligible, so u ≤ hi+1.
	j, w, cum = hi, wHi, wHi
	for cum <= limit && j > lo {
		w = down(j, w)
		j--
		cum += w
	}
	if cum <= limit {
		j--
	}
	u = j + 1
	return l, u
}

// lowestEquivalentValue is the smallest value h counts together with v
// (hdrhistogram-go keeps its own unexported): the bottom of v's bucket, from
// h's geometry as HdrHistogram lays it out. Below 2·10^digits·unit a bucket
// is one unit wide; each power of two above doubles it.
func lowestEquivalentValue(h *hdrhistogram.Histogram, v int64) int64 {
	unitMagnitude := max(bits.Len64(uint64(max(h.LowestTrackableValue(), 1)))-1, 0)
	subBucketCountMagnitude := int(math.Ceil(math.Log2(2 * math.Pow10(int(h.SignificantFigures())))))
	subBucketHalfCountMagnitude := max(subBucketCountMagnitude, 1) - 1
	subBucketMask := uint64(1)<<(subBucketHalfCountMagnitude+1) - 1
	subBucketMask <<= unitMagnitude
	bucket := bits.Len64(uint64(v)|subBucketMask) - unitMagnitude - (subBucketHalfCountMagnitude + 1)
	shift := bucket + unitMagnitude
	return v >> shift << shift
}

// Interval is the confidence interval at level conf of source's percentile
// p (see Interval); ok is false when source has no samples.
func (r *Recorder) Interval(source string, p, conf float64) (ci CI, ok bool) {
	h := r.hists[source]
	if h == nil || h.TotalCount() == 0 {
		return CI{}, false
	}
	return Interval(h, p, conf), true
}
