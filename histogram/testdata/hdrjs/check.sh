#!/usr/bin/env bash
# Reads tailgate's interval logs with hdr-histogram-js, an independent
# HdrHistogram implementation (JavaScript, from the npm registry), and checks
# that it finds what tailgate found, exactly (values in µs: a percentile one
# rank off is a different value):
#   1. go test: a log tailgate writes; every tag's count, and at thirteen
#      percentiles the nearest-rank value, the rank and the 95% interval;
#   2. a real run against the embedded service: run.hlog against report.json,
#      every budget line (default scenarios/llm-chat.yaml: connect, tls,
#      server-timing:db, ttft, itl, total): observed_ms, rank, ci_low_ms and
#      ci_high_ms.
# usage: histogram/testdata/hdrjs/check.sh [SCENARIO.yaml]
# Needs node and npm (and the npm registry); says so and exits 0 without them.
set -euo pipefail
cd "$(dirname "$0")/../../.."
scenario=${1:-scenarios/llm-chat.yaml}
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "skip: node and npm are needed to install hdr-histogram-js"
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
npm install --prefix "$tmp" --no-audit --no-fund --silent hdr-histogram-js@3.0.1
export TAILGATE_HDRJS_NODE_PATH="$tmp/node_modules"

echo "== go test: tailgate's log read by hdr-histogram-js"
go test -count=1 -run 'HdrHistogramJS' -v ./histogram

echo "== a run's run.hlog against its report.json"
# Exit 1 and 3 are verdicts; the artifacts are written either way.
code=0
go run ./cmd/tailgate run --quiet --out "$tmp/run" "$scenario" || code=$?
if [ "$code" = 2 ]; then exit 2; fi
NODE_PATH="$tmp/node_modules" node histogram/testdata/hdrjs/compare-report.js "$tmp/run/run.hlog" "$tmp/run/report.json"
