#!/usr/bin/env bash
# Soak: 10 minutes at 100/s (poisson) against the embedded service with 5% injected
# errors, sampling RSS and goroutines every 10 s. Not run in CI (it takes
# the time it says); the figures go in bench/RESULTS.md under "Soak".
#   bench/soak/run.sh                 # the full 10 minutes
#   bench/soak/run.sh -duration 3m    # shorter
set -euo pipefail
cd "$(dirname "$0")/../.."
go build -o /tmp/tailgate-soak ./bench/soak
exec /tmp/tailgate-soak "$@"
