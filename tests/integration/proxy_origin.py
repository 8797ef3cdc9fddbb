#!/usr/bin/env python3
"""A small HTTP/1.1 origin for the airlock-proxy tests (loopback only).

  proxy_origin.py --port-file F [--cert C --key K] [--git-root DIR]

Binds 127.0.0.1:0 (or --bind A --port P) and writes the port to F.  Paths:
  /hello            "hello from origin\\n" (Content-Length)
  /headers          the request head as received, as the body (and to stderr)
  /chunked          a chunked response of N (?n=) lines
  /big?mb=N         N MiB of zeros (Content-Length)
  POST /echo        "<length> <sha256>\\n" of the request body (chunked or not)
  /git/...          git http-backend (CGI) over --git-root
"""
import argparse
import hashlib
import http.server
import os
import socketserver
import ssl
import subprocess
import sys
import urllib.parse


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    git_root = None

    def log_message(self, fmt, *args):
        pass

    def send_body(self, status, body, ctype="text/plain"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            data = b""
            while True:
                line = self.rfile.readline()
                size = int(line.split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length", "0"))
        return self.rfile.read(n) if n > 0 else b""

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(u.query)
        if u.path.startswith("/git/"):
            return self.git()
        if u.path == "/hello":
            return self.send_body(200, b"hello from origin\n")
        if u.path == "/headers":
            head = self.requestline + "\r\n" + str(self.headers)
            # also to stderr (the test's log): what arrived, whatever
            # the proxy does to the answer
            sys.stderr.write(head)
            sys.stderr.flush()
            return self.send_body(200, head.encode())
        if u.path == "/chunked":
            n = int(q.get("n", ["5"])[0])
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(n):
                line = ("line %d\n" % i).encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
            self.wfile.write(b"0\r\n\r\n")
            return
        if u.path == "/big":
            mb = int(q.get("mb", ["1"])[0])
            self.send_response(200)
            self.send_header("Content-Length", str(mb << 20))
            self.end_headers()
            block = b"\0" * (1 << 20)
            for _ in range(mb):
                self.wfile.write(block)
            return
        self.send_body(404, b"not here\n")

    do_HEAD = do_GET

    def do_POST(self):
        u = urllib.parse.urlsplit(self.path)
        if u.path.startswith("/git/"):
            return self.git()
        body = self.read_body()
        if u.path == "/echo":
            out = "%d %s\n" % (len(body), hashlib.sha256(body).hexdigest())
            return self.send_body(200, out.encode())
        self.send_body(404, b"not here\n")

    def git(self):
        u = urllib.parse.urlsplit(self.path)
        body = self.read_body() if self.command == "POST" else b""
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_PROJECT_ROOT": self.git_root,
            "GIT_HTTP_EXPORT_ALL": "1",
            "REQUEST_METHOD": self.command,
            "PATH_INFO": u.path[len("/git"):],
            "QUERY_STRING": u.query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_ADDR": "127.0.0.1",
            "GATEWAY_INTERFACE": "CGI/1.1",
        }
        if self.headers.get("Git-Protocol"):
            env["GIT_PROTOCOL"] = self.headers["Git-Protocol"]
        p = subprocess.run(["git", "http-backend"], input=body, env=env,
                           stdout=subprocess.PIPE, check=False)
        head, _, payload = p.stdout.partition(b"\r\n\r\n")
        status = 200
        headers = []
        for line in head.split(b"\r\n"):
            if not line:
                continue
            k, _, v = line.decode().partition(":")
            if k.lower() == "status":
                status = int(v.strip().split()[0])
            else:
                headers.append((k, v.strip()))
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--git-root")
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    a = ap.parse_args()
    Handler.git_root = a.git_root
    srv = Server((a.bind, a.port), Handler)
    if a.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.cert, a.key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, a.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
