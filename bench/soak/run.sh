#!/usr/bin/env bash
# Soak: 10 minutes at 100/s (poisson) against the embedded service with 5% injected
# errors, or at a high rate against a target of your own (-url), sampling RSS
# and goroutines every 10 s. Not run in CI (it takes the time it says); the
# figures go in bench/RESULTS.md under "Soak".
#   bench/soak/run.sh                 # the full 10 minutes
#   bench/soak/run.sh -duration 3m    # shorter
#   bench/soak/run.sh -rate 5000/s -url http://127.0.0.1:8080/   # e.g. nginx
set -euo pipefail
cd "$(dirname "$0")/../.."
go build -o /tmp/tailgate-soak ./bench/soak
exec /tmp/tailgate-soak "$@"
