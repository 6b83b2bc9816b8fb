// Compares a run's report.json with its run.hlog as hdr-histogram-js reads
// it: every observed percentile of every latency line must be exactly the
// value hdr-histogram-js finds at the nearest rank (in µs, as both hold it:
// a rank off by one is a different value), its rank the nearest rank, its
// 95% interval the one computed on hdr-histogram-js's histogram, and every
// line's count the tag's.
//
// usage: NODE_PATH=…/node_modules node compare-report.js RUN.hlog report.json
"use strict";
const fs = require("fs");
const { percentiles } = require("./percentiles.js");

// tag is tailgate's histogram.Tag: bytes outside printable ASCII, ',' and
// '%' as %XX.
function tag(source) {
  let out = "";
  for (const b of Buffer.from(source, "utf8")) {
    const c = String.fromCharCode(b);
    out += b <= 0x20 || b >= 0x7f || c === "," || c === "%" ? "%" + b.toString(16).toUpperCase().padStart(2, "0") : c;
  }
  return out;
}

// us is a report's milliseconds back in the histogram's microseconds:
// report.json writes µs/1000, so this is exact for any recorded value.
function us(ms) {
  return ms === null || ms === undefined ? ms : Math.round(ms * 1000);
}

const [hlog, reportPath] = process.argv.slice(2);
const report = JSON.parse(fs.readFileSync(reportPath, "utf8"));
const lines = report.lines.filter((l) => l.percentiles && l.percentiles.length);
const ps = [...new Set(lines.flatMap((l) => l.percentiles.map((p) => p.p)))];
const got = percentiles(hlog, ps);
let bad = 0;
let checked = 0;
let intervals = 0;
for (const l of lines) {
  const t = got.tags[tag(l.source)];
  for (const p of l.percentiles) {
    if (p.observed_ms === null) {
      if (t) { console.log(`BAD  ${l.name} p${p.p}: report.json has no data, the log has ${t.count} samples`); bad++; }
      continue;
    }
    const key = String(p.p);
    const js = t ? t.java[key] : NaN;
    const problems = [];
    if (us(p.observed_ms) !== js || Math.abs(p.observed_ms * 1000 - js) > 1e-6) problems.push("value");
    if (p.rank !== undefined && t && p.rank !== t.rank[key]) problems.push(`rank ${p.rank}, nearest rank ${t.rank[key]}`);
    let ciText = "";
    if ("ci_low_ms" in p && t) {
      const ci = t.ci[key];
      if (us(p.ci_low_ms) !== ci.low) problems.push(`ci low ${p.ci_low_ms}ms, hdr-histogram-js ${ci.low === null ? "null" : ci.low / 1000 + "ms"} (rank ${ci.low_rank})`);
      if (us(p.ci_high_ms) !== ci.high) problems.push(`ci high ${p.ci_high_ms}ms, hdr-histogram-js ${ci.high === null ? "null" : ci.high / 1000 + "ms"} (rank ${ci.high_rank})`);
      ciText = `, 95% [${ci.low === null ? "–" : ci.low / 1000}, ${ci.high === null ? "–" : ci.high / 1000}]`;
      intervals++;
    }
    const ok = problems.length === 0;
    console.log(`${ok ? "ok  " : "BAD "} ${l.name} (${l.source}) p${p.p}: hdr-histogram-js ${js / 1000}ms at rank ${t ? t.rank[key] : "?"} of ${t ? t.count : 0}${ciText}; report.json ${p.observed_ms}ms${ok ? "" : ": " + problems.join("; ")}`);
    if (!ok) bad++;
    checked++;
  }
  if (t && t.count !== l.count) {
    console.log(`BAD  ${l.name}: hdr-histogram-js counts ${t.count} samples, report.json ${l.count}`);
    bad++;
  }
}
console.log(`${checked} percentiles (${intervals} with intervals) checked against hdr-histogram-js, ${bad} differ (${got.intervals} intervals read)`);
process.exit(bad || !checked ? 1 : 0);
