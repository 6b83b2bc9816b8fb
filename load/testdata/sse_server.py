#!/usr/bin/env python3
"""A streaming (SSE) server with known delays, written without tailgate.

load/independent_test.go runs it to check tailgate's per-phase measurements
against a server whose HTTP stack is not Go's. Standard library only.

    python3 sse_server.py --db-ms 20 --ttft-ms 150 --itl-ms 10 --tokens 5

It listens on 127.0.0.1 on an ephemeral port, prints the port as its first
line of stdout, and serves until killed or until its stdin reaches EOF (so it
never outlives the process that started it; give it a pipe, not /dev/null).

With --report, each response is followed by a line on stdout with the
server's own timings (see Handler.serve): the ground truth a client's
measurements can be held against.

Every request (any path; GET, POST, PUT, PATCH or DELETE; a body is read by
Content-Length and discarded) is answered like a streaming LLM API:

  - "db" work of --db-ms, reported as `Server-Timing: db;dur=<ms slept>`;
  - nothing at all is sent until --db-ms + --ttft-ms after the request was
    read: then the status line, the headers and the first event go out in
    one write, so time to first byte is db + ttft;
  - --tokens events `data: {"token": i}`, --itl-ms apart, then one --itl-ms
    later `data: [DONE]` and the end of the body.

Responses are HTTP/1.1 with chunked transfer encoding (framed here by hand),
so connections are kept alive and reused like a real API's. Nagle is off so
that small events are not held back.
"""

import argparse
import http.server
import os
import socket
import socketserver
import sys
import threading
import time


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--db-ms", type=float, default=20.0, help="database time, reported in Server-Timing")
    p.add_argument("--ttft-ms", type=float, default=150.0, help="further wait before the first event")
    p.add_argument("--itl-ms", type=float, default=10.0, help="gap between events")
    p.add_argument("--tokens", type=int, default=5, help="token events before [DONE]")
    p.add_argument("--report", action="store_true",
                   help="after each response, print a line on stdout with what the server's own clock saw")
    return p.parse_args(argv)


def chunk(data):
    """One chunk of a chunked body: hex length CRLF data CRLF."""
    return b"%x\r\n" % len(data) + data + b"\r\n"


LAST_CHUNK = b"0\r\n\r\n"

report_lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive by default
    disable_nagle_algorithm = True  # StreamRequestHandler sets TCP_NODELAY in setup()
    server_version = "sse_server.py"

    # Set from the command line in main().
    db = ttft = itl = 0.0
    tokens = 0
    report = False

    def serve(self):
        t0 = time.perf_counter()
        n = int(self.headers.get("Content-Length") or 0)
        while n > 0:
            got = self.rfile.read(min(n, 65536))
            if not got:
                self.close_connection = True
                return
            n -= len(got)

        time.sleep(self.db)
        db_ms = (time.perf_counter() - t0) * 1000.0
        # The first byte goes out db + ttft after the request was read: the
        # ttft wait is measured from t0, so sleep overshoots do not add up.
        wait = t0 + self.db + self.ttft - time.perf_counter()
        if wait > 0:
            time.sleep(wait)

        # HTTP/1.1: chunked, kept alive. An HTTP/1.0 client gets the body
        # unframed and the connection closed after it.
        chunked = self.request_version != "HTTP/1.0"
        if not chunked:
            self.close_connection = True
        frame = chunk if chunked else (lambda data: data)
        head = (
            "%s 200 OK\r\n"
            "Server: %s\r\n"
            "Date: %s\r\n"
            "Content-Type: text/event-stream\r\n"
            "Cache-Control: no-cache\r\n"
            'Server-Timing: db;dur=%.3f;desc="lookup"\r\n'
            "%s"
            "\r\n" % (self.protocol_version, self.version_string(), self.date_time_string(), db_ms,
                       "Transfer-Encoding: chunked\r\n" if chunked else "Connection: close\r\n")
        ).encode("latin-1")
        sent = []  # perf_counter just before each event's write
        try:
            # wfile is unbuffered (wbufsize 0): each write is a send; flush
            # anyway, as a server with a buffered writer would have to.
            sent.append(time.perf_counter())
            self.wfile.write(head + frame(b'data: {"token": 0}\n\n'))
            self.wfile.flush()
            for i in range(1, self.tokens):
                time.sleep(self.itl)
                sent.append(time.perf_counter())
                self.wfile.write(frame(b'data: {"token": %d}\n\n' % i))
                self.wfile.flush()
            time.sleep(self.itl)
            sent.append(time.perf_counter())
            self.wfile.write(frame(b"data: [DONE]\n\n") + (LAST_CHUNK if chunked else b""))
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
            return
        if self.report:
            # first: request read -> first byte written; done: -> last byte
            # written; itl: between the writes of consecutive events.
            line = "served db_ms=%.3f first_ms=%.3f done_ms=%.3f itl_ms=%s\n" % (
                db_ms, (sent[0] - t0) * 1000.0, (time.perf_counter() - t0) * 1000.0,
                ",".join("%.3f" % ((b - a) * 1000.0) for a, b in zip(sent, sent[1:])))
            with report_lock:
                sys.stdout.write(line)
                sys.stdout.flush()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = serve

    def log_message(self, format, *args):
        pass  # a line per request on stderr would only cost time


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def server_bind(self):
        # HTTPServer.server_bind resolves the host's FQDN, which can stall
        # on a machine without DNS; the name is not needed here.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


def exit_on_eof():
    try:
        while sys.stdin.buffer.read(4096):
            pass
    finally:
        os._exit(0)


def main(argv):
    args = parse_args(argv)
    if args.db_ms < 0 or args.ttft_ms < 0 or args.itl_ms < 0 or args.tokens < 1:
        sys.exit("sse_server.py: delays must be >= 0 and --tokens >= 1")
    Handler.db = args.db_ms / 1000.0
    Handler.ttft = args.ttft_ms / 1000.0
    Handler.itl = args.itl_ms / 1000.0
    Handler.tokens = args.tokens
    Handler.report = args.report

    srv = Server(("127.0.0.1", 0), Handler)
    print(srv.server_address[1], flush=True)
    threading.Thread(target=exit_on_eof, daemon=True).start()
    srv.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
