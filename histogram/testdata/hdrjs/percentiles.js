// Reads an HdrHistogram interval log with hdr-histogram-js — an HdrHistogram
// implementation independent of tailgate's and hdrhistogram-go's
// (JavaScript, a port of the Java original) — and prints per tag, for all
// the tag's intervals merged, as JSON. Values are as recorded: microseconds
// for tailgate.
//   count:     the samples;
//   java:      hdr-histogram-js's getValueAtPercentile at each percentile:
//              the nearest rank ⌈p/100·N⌉, as Java's, the highest value
//              equivalent to that sample;
//   rank:      that rank;
//   ci:        the distribution-free 95% interval of each percentile from
//              order statistics, computed here on its own: the ranks l, u
//              from exact binomial tails (summed from 0 in log space), low
//              the lowest value equivalent to the l-th sample, high the
//              highest equivalent to the u-th; null for a side the sample
//              cannot bound.
//
// usage: NODE_PATH=…/node_modules node percentiles.js RUN.hlog [P…]
"use strict";
const fs = require("fs");
const hdr = require("hdr-histogram-js");

// rank is the nearest rank of p among n: the smallest k ≥ p/100·n, with the
// slack hdr-histogram-js itself allows floating point.
function rank(p, n) {
  const x = (Math.min(p, 100) / 100) * n;
  return Math.min(Math.max(Math.ceil(x - x * 1e-14), 1), n);
}

// valueAtRank walks h's counts to the k-th sample and returns its bucket's
// [lowest, highest] equivalent values.
function valueAtRank(h, k) {
  let seen = 0;
  for (let i = 0; i < h.countsArrayLength; i++) {
    seen += h.getCountAtIndex(i);
    if (seen >= k) {
      const v = h.valueFromIndex(i);
      return [h.lowestEquivalentValue(v), h.highestEquivalentValue(v)];
    }
  }
  throw new Error(`rank ${k} beyond ${seen} samples`);
}

// logAdd is log(e^a + e^b).
function logAdd(a, b) {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  const m = Math.max(a, b);
  return m + Math.log1p(Math.exp(-Math.abs(a - b)));
}

// ranks returns the order statistics bounding quantile q of n samples at
// confidence conf: l the largest rank with P(B ≤ l−1) ≤ a, u the smallest
// with P(B ≥ u) ≤ a, B ~ B(n, q), a = (1−conf)/2; 0 and n+1 when unbounded.
function ranks(n, q, conf) {
  if (q <= 0) return [0, 1];
  if (q >= 1) return [n, n + 1];
  const logA = Math.log((1 - conf) / 2);
  // log P(B = j) for j = 0…n, by the ratio of neighbours from P(B = 0).
  const logPmf = new Float64Array(n + 1);
  logPmf[0] = n * Math.log1p(-q);
  for (let j = 1; j <= n; j++) {
    logPmf[j] = logPmf[j - 1] + Math.log(n - j + 1) - Math.log(j) + Math.log(q) - Math.log1p(-q);
  }
  let l = 0;
  if (n * Math.log1p(-q) <= logA) {
    let cdf = -Infinity; // log P(B ≤ j)
    for (let j = 0; j < n; j++) {
      cdf = logAdd(cdf, logPmf[j]);
      if (cdf > logA) break;
      l = j + 1;
    }
    l = Math.max(l, 1);
  }
  let u = n + 1;
  if (n * Math.log(q) <= logA) {
    let tail = -Infinity; // log P(B ≥ j)
    for (let j = n; j >= 1; j--) {
      tail = logAdd(tail, logPmf[j]);
      if (tail > logA) break;
      u = j;
    }
    u = Math.min(u, n);
  }
  return [l, u];
}

function interval(h, p, conf) {
  const n = h.totalCount;
  const [l, u] = ranks(n, p / 100, conf);
  return {
    low_rank: l,
    high_rank: u,
    low: l >= 1 ? valueAtRank(h, l)[0] : null,
    high: u <= n ? valueAtRank(h, u)[1] : null,
  };
}

function percentiles(path, ps) {
  const reader = new hdr.HistogramLogReader(fs.readFileSync(path, "utf8"), 64);
  const merged = {};
  let startMs = null;
  let intervals = 0;
  for (let h; (h = reader.nextIntervalHistogram()) !== null; ) {
    if (startMs === null) startMs = h.startTimeStampMsec;
    if (!merged[h.tag]) {
      merged[h.tag] = hdr.build({
        bitBucketSize: 64,
        lowestDiscernibleValue: 1,
        highestTrackableValue: 3600000000,
        numberOfSignificantValueDigits: 3,
      });
    }
    merged[h.tag].add(h);
    intervals++;
  }
  const tags = {};
  for (const [tag, h] of Object.entries(merged)) {
    const n = h.totalCount;
    const java = {};
    const rk = {};
    const ci = {};
    for (const p of ps) {
      const key = String(p);
      java[key] = h.getValueAtPercentile(p);
      rk[key] = rank(p, n);
      ci[key] = interval(h, p, 0.95);
      // The walk and hdr-histogram-js's own percentile agree on the rank.
      if (p > 0 && valueAtRank(h, rk[key])[1] !== java[key]) {
        throw new Error(`${tag} p${p}: rank ${rk[key]} holds ${valueAtRank(h, rk[key])[1]}, getValueAtPercentile ${java[key]}`);
      }
    }
    tags[tag] = { count: n, java, rank: rk, ci };
  }
  return { start_ms: startMs, intervals, tags };
}

module.exports = { percentiles };

if (require.main === module) {
  const ps = process.argv.slice(3).map(Number);
  const out = percentiles(process.argv[2], ps.length ? ps : [50, 90, 95, 99, 99.9, 100]);
  process.stdout.write(JSON.stringify(out) + "\n");
}
