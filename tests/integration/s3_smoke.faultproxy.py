#!/usr/bin/env python3
"""s3_smoke.faultproxy.py: an HTTP/1.1 proxy on 127.0.0.1 in front of a test S3 server that injects
faults, for the retry and abort tests of the S3 destination.

    s3_smoke.faultproxy.py UPSTREAM_PORT RULES_FILE PORT_FILE

Listens on a free loopback port (written to PORT_FILE) and forwards every request unchanged
(same Host header, so signatures still verify) to 127.0.0.1:UPSTREAM_PORT. RULES_FILE is read
again for every request, so a test can change the faults while the proxy runs. One rule a line:

    METHOD QUERY_REGEX NTH ACTION
      METHOD       GET, PUT, POST, DELETE, HEAD or *
      QUERY_REGEX  searched in "path?query" ("." matches all)
      NTH          1-based count of matching requests to hit, or "all"
      ACTION       500 | 503 | 429      answer that status with an S3 XML error, body not forwarded
                   STATUS:CODE          the same with any status and S3 error code (404:NoSuchUpload)
                   drop-request         read half of the request body, then close the connection
                   drop-response        forward, send the headers and half the body, then close
                   error200             forward, then answer 200 with an S3 <Error> body instead
                   lose-response        forward, then close the connection without answering
                   slow:KIB             read the request body at KIB KiB/s, then forward it (a slow
                                        link: the client's upload is throttled, nothing fails)

Each injected fault is logged on stderr as "fault: ...". Every rule counts the requests it matches;
the first rule (in file order) whose count reaches its NTH acts.
"""
import http.client
import re
import socket
import socketserver
import sys
import threading
import time

UPSTREAM = int(sys.argv[1])
RULES = sys.argv[2]
COUNTS = {}
LOCK = threading.Lock()


def pick_fault(method, target):
    try:
        with open(RULES) as f:
            lines = [l.split() for l in f if l.strip() and not l.startswith("#")]
    except OSError:
        return None
    chosen = None
    with LOCK:
        # every matching rule counts this request; the first one whose turn it is acts
        for i, parts in enumerate(lines):
            if len(parts) != 4:
                continue
            m, rx, nth, action = parts
            if m != "*" and m != method:
                continue
            if not re.search(rx, target):
                continue
            key = (i, " ".join(parts))
            COUNTS[key] = COUNTS.get(key, 0) + 1
            if chosen is None and (nth == "all" or COUNTS[key] == int(nth)):
                chosen = action
    return chosen


def error_xml(code, message):
    return ('<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>%s</Message>'
            '<RequestId>faultproxy</RequestId></Error>' % (code, message)).encode()


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        while self.one_request():
            pass

    def one_request(self):
        line = self.rfile.readline(65537)
        if not line:
            return False
        method, target, _ = line.decode("latin-1").split(" ", 2)
        headers = []
        length = 0
        while True:
            h = self.rfile.readline(65537).decode("latin-1")
            if h in ("\r\n", "\n", ""):
                break
            name, value = h.split(":", 1)
            headers.append((name, value.strip()))
            if name.lower() == "content-length":
                length = int(value)
        action = pick_fault(method, target)
        if action == "drop-request":
            self.rfile.read(length // 2)
            sys.stderr.write("fault: %s %s: connection dropped mid-request\n" % (method, target))
            self.connection.shutdown(socket.SHUT_RDWR)
            return False
        if action and action.startswith("slow:"):
            rate = int(action.split(":")[1]) * 1024
            parts, left = [], length
            while left:
                n = min(left, 16384)
                parts.append(self.rfile.read(n))
                left -= n
                time.sleep(n / rate)
            body = b"".join(parts)
            action = None
        else:
            body = self.rfile.read(length) if length else b""
        if action and re.match(r"^[0-9]{3}:[A-Za-z]+$", action):
            status, code = action.split(":")
            sys.stderr.write("fault: %s %s: answered %s %s\n" % (method, target, status, code))
            self.reply(int(status), code, [("Content-Type", "application/xml")],
                       b"" if method == "HEAD" else error_xml(code, "injected by faultproxy"))
            return True
        if action in ("500", "503", "429"):
            code = {"500": "InternalError", "503": "ServiceUnavailable", "429": "SlowDown"}[action]
            sys.stderr.write("fault: %s %s: answered %s\n" % (method, target, action))
            self.reply(int(action), code, [("Content-Type", "application/xml")],
                       b"" if method == "HEAD" else error_xml(code, "injected by faultproxy"))
            return True
        up = http.client.HTTPConnection("127.0.0.1", UPSTREAM, timeout=60)
        up.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        for name, value in headers:
            up.putheader(name, value)
        up.endheaders(body)
        resp = up.getresponse()
        data = resp.read() if method != "HEAD" else b""
        rheaders = [(k, v) for k, v in resp.getheaders()
                    if k.lower() not in ("content-length", "transfer-encoding", "connection")]
        up.close()
        if action == "lose-response":
            sys.stderr.write("fault: %s %s: processed (%d), answer lost\n" % (method, target, resp.status))
            self.connection.shutdown(socket.SHUT_RDWR)
            return False
        if action == "error200":
            sys.stderr.write("fault: %s %s: 200 with an <Error> body\n" % (method, target))
            self.reply(200, "OK", [("Content-Type", "application/xml")],
                       error_xml("InternalError", "injected 200 error by faultproxy"))
            return True
        if action == "drop-response" and len(data) > 1:
            sys.stderr.write("fault: %s %s: connection dropped after %d of %d response bytes\n"
                             % (method, target, len(data) // 2, len(data)))
            head = "HTTP/1.1 %d %s\r\n" % (resp.status, resp.reason)
            head += "".join("%s: %s\r\n" % kv for kv in rheaders)
            head += "Content-Length: %d\r\n\r\n" % len(data)
            self.wfile.write(head.encode("latin-1") + data[: len(data) // 2])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            return False
        self.reply(resp.status, resp.reason, rheaders, data,
                   length=resp.getheader("Content-Length") if method == "HEAD" else None)
        return True

    def reply(self, status, reason, headers, body, length=None):
        head = "HTTP/1.1 %d %s\r\n" % (status, reason)
        head += "".join("%s: %s\r\n" % kv for kv in headers)
        head += "Content-Length: %s\r\n\r\n" % (length if length is not None else len(body))
        self.wfile.write(head.encode("latin-1") + body)
        self.wfile.flush()


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    srv = Server(("127.0.0.1", 0), Handler)
    with open(sys.argv[3], "w") as f:
        f.write("%d\n" % srv.server_address[1])
    srv.serve_forever()


if __name__ == "__main__":
    main()
