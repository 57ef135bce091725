#!/usr/bin/env python3
"""A local webhook receiver for tests: appends every POST body (one JSON document a line) to FILE and
answers STATUS. Prints its port on the first line of stdout.
Usage: webhook_receiver.py FILE [STATUS]"""
import http.server
import sys

out, status = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 200


class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(out, "ab") as f:
            f.write(body.replace(b"\n", b" ") + b"\n")
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print(srv.server_address[1], flush=True)
srv.serve_forever()
