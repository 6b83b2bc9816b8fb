// Reads an HdrHistogram interval log with hdr-histogram-js — an HdrHistogram
// implementation independent of tailgate's (JavaScript, a port of the Java
// original) — and prints per tag the count and percentiles of all the tag's
// intervals merged, as JSON. Values are as recorded: microseconds for
// tailgate. Each percentile is given twice:
//   java:  hdr-histogram-js's getValueAtPercentile (rank ⌈p·N⌉, as Java's);
//   round: the value at rank ⌊p·N + ½⌋, the rank hdrhistogram-go (and so
//          report.json) uses, still read from hdr-histogram-js's histogram.
//
// usage: NODE_PATH=…/node_modules node percentiles.js RUN.hlog [P…]
"use strict";
const fs = require("fs");
const hdr = require("hdr-histogram-js");

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
    const round = {};
    for (const p of ps) {
      java[String(p)] = h.getValueAtPercentile(p);
      const rank = Math.min(Math.max(Math.floor((p / 100) * n + 0.5), 1), n);
      // p' = 100·rank/N makes getValueAtPercentile's own rank exactly rank.
      round[String(p)] = h.getValueAtPercentile((100 * rank) / n);
    }
    tags[tag] = { count: n, java, round };
  }
  return { start_ms: startMs, intervals, tags };
}

module.exports = { percentiles };

if (require.main === module) {
  const ps = process.argv.slice(3).map(Number);
  const out = percentiles(process.argv[2], ps.length ? ps : [50, 90, 95, 99, 99.9, 100]);
  process.stdout.write(JSON.stringify(out) + "\n");
}
