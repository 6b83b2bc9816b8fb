#!/usr/bin/env bash
# Throughput of tailgate beside other load generators, in one run on this
# machine: installs nginx, wrk and hey (Debian packages) and the vegeta CLI
# v12.13.0 (from the Go module proxy), starts nginx on 127.0.0.1 with a tiny
# fixed response, then bench/cmd/throughput bisects the highest sustained
# rate of each open-loop generator (the vegeta CLI, tailgate --engine vegeta,
# tailgate --engine native), measures the closed-loop tools (a bare net/http
# loop, wrk, hey), offers the open-loop ones twice their capacity, measures
# the send precision and CPU of tailgate's engines at 500, 2,000 and
# 10,000/s, runs the hot-path Go benchmarks, and rewrites the "Throughput"
# section of bench/RESULTS.md with the figures and the goals they meet
# (other sections are left as they are).
#
#   bench/throughput.sh                  # about 10 minutes
#   bench/throughput.sh -trial 4s        # quicker, noisier
#   PORT=18099 bench/throughput.sh       # another port for nginx
#
# Flags after the script name go to bench/cmd/throughput (-trial, -start,
# -resolution, -concurrency, -precision, -gobench, -results). Run it on an
# otherwise idle machine: everything here shares its CPUs.
set -euo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)
port=${PORT:-18081}
work=$(mktemp -d "${TMPDIR:-/tmp}/tailgate-bench.XXXXXX")
nginx_pid=""

cleanup() {
	if [[ -n "$nginx_pid" ]]; then
		kill "$nginx_pid" 2>/dev/null || true
		wait "$nginx_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

say() { echo "throughput.sh: $*" >&2; }

# Tools from Debian. apt-get needs root; without it, install them first.
missing=()
for tool in nginx wrk hey; do
	command -v "$tool" >/dev/null || missing+=("$tool")
done
if ((${#missing[@]})); then
	pkgs=()
	for tool in "${missing[@]}"; do
		case "$tool" in
		nginx) pkgs+=(nginx-light) ;;
		*) pkgs+=("$tool") ;;
		esac
	done
	say "installing ${pkgs[*]}"
	if [[ $(id -u) -ne 0 ]]; then
		say "need root to apt-get install ${pkgs[*]}; install them and run again"
		exit 1
	fi
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}" >/dev/null
fi
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)

# vegeta CLI, pinned. `go install github.com/tsenart/vegeta/v12@v12.13.0`
# asks the proxy for the module's version list, which it refuses here, so
# build it from a throwaway module that requires that exact version.
mkdir -p "$work/bin" "$work/vegeta"
cat >"$work/vegeta/go.mod" <<'MOD'
module vegetabuild

go 1.26

require github.com/tsenart/vegeta/v12 v12.13.0
MOD
cat >"$work/vegeta/tools.go" <<'GO'
//go:build tools

package tools

import _ "github.com/tsenart/vegeta/v12"
GO
say "building vegeta v12.13.0, tailgate and the bench helpers"
(cd "$work/vegeta" && GOFLAGS=-mod=mod go build -o "$work/bin/vegeta" github.com/tsenart/vegeta/v12)
go build -o "$work/bin/tailgate" ./cmd/tailgate
go build -o "$work/bin/bareloop" ./bench/cmd/bareloop
go build -o "$work/bin/throughput" ./bench/cmd/throughput

# nginx: one worker (so it takes at most one CPU from the generators), no
# access log, keep-alive without a request cap, 3-byte answer.
mkdir -p "$work/nginx/logs"
cat >"$work/nginx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log warn;
events { worker_connections 65536; }
worker_rlimit_nofile 65536;
http {
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  server {
    listen 127.0.0.1:$port backlog=4096;
    location / { default_type text/plain; return 200 "ok\n"; }
  }
}
CONF
if (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
	say "127.0.0.1:$port is in use; set PORT to a free port"
	exit 1
fi
# As root, run nginx and every generator at a higher priority (nice -10),
# alike for all: other work on a shared machine then skews trials less.
# NICE=0 turns it off.
nice=()
niceness=0
if [[ $(id -u) -eq 0 && ${NICE:-10} != 0 ]]; then
	niceness=-${NICE:-10}
	nice=(nice -n "$niceness")
fi
"${nice[@]}" "$nginx_bin" -e "$work/nginx/logs/error.log" -p "$work/nginx" -c "$work/nginx/nginx.conf" &
nginx_pid=$!
for _ in $(seq 50); do
	(echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
	sleep 0.1
done
if ! (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
	say "nginx did not start:"
	cat "$work/nginx/logs/error.log" >&2
	exit 1
fi

PATH="$work/bin:$PATH" "${nice[@]}" "$work/bin/throughput" -niceness "$niceness" -command "bench/throughput.sh${*:+ $*}" \
	-tailgate "$work/bin/tailgate" -vegeta "$work/bin/vegeta" -bareloop "$work/bin/bareloop" \
	-hey "$(command -v hey)" -wrk "$(command -v wrk)" \
	-url "http://127.0.0.1:$port/" -results "$root/bench/RESULTS.md" "$@"
