// Compares a run's report.json with its run.hlog as hdr-histogram-js reads
// it: every observed percentile of every latency line must be the value
// hdr-histogram-js finds at the same rank, and every line's count the tag's.
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

const [hlog, reportPath] = process.argv.slice(2);
const report = JSON.parse(fs.readFileSync(reportPath, "utf8"));
const lines = report.lines.filter((l) => l.percentiles && l.percentiles.length);
const ps = [...new Set(lines.flatMap((l) => l.percentiles.map((p) => p.p)))];
const got = percentiles(hlog, ps);
let bad = 0;
let checked = 0;
for (const l of lines) {
  const t = got.tags[tag(l.source)];
  for (const p of l.percentiles) {
    if (p.observed_ms === null) {
      if (t) { console.log(`${l.name} p${p.p}: report.json has no data, the log has ${t.count} samples`); bad++; }
      continue;
    }
    const js = t ? t.round[String(p.p)] / 1000 : NaN;
    const ok = Math.abs(js - p.observed_ms) < 1e-9;
    console.log(`${ok ? "ok  " : "BAD "} ${l.name} (${l.source}) p${p.p}: hdr-histogram-js ${js}ms, report.json ${p.observed_ms}ms`);
    if (!ok) bad++;
    checked++;
  }
  if (t && t.count !== l.count) {
    console.log(`BAD  ${l.name}: hdr-histogram-js counts ${t.count} samples, report.json ${l.count}`);
    bad++;
  }
}
console.log(`${checked} percentiles checked against hdr-histogram-js, ${bad} differ (${got.intervals} intervals read)`);
process.exit(bad || !checked ? 1 : 0);
