#!/usr/bin/env python3
"""An HTTP/1.1 origin that echoes each request it receives (loopback only).

  proxy_echo.py --port-file F --log L [--cert C --key K]

Binds 127.0.0.1:0 and writes the port to F.  Every request, whatever its
method and path, is answered with its request line, its headers as
received and its body (chunked bodies decoded), and the same text is
appended to L once the request was read whole: a request that never
arrived complete leaves nothing in L.

A request header "X-Echo: MODE[,MODE...]" shapes the answer:
  headers  also each received header back as a response header
           "X-Echo-NAME: VALUE"
  chunked  the body chunked, in chunks of 1, 2, ... 13 bytes, each
           written and flushed on its own
  split    (with Content-Length) the body written 5 bytes at a time
  close    no Content-Length: the body ends when the connection closes
  gzip     the body gzip-compressed, with Content-Encoding: gzip (sent
           whatever Accept-Encoding said)
"""
import argparse
import gzip
import http.server
import os
import socketserver
import ssl
import sys
import threading
import time


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    log_path = None
    lock = threading.Lock()

    def log_message(self, fmt, *args):
        pass

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            data = b""
            while True:
                line = self.rfile.readline()
                if not line.endswith(b"\n"):
                    raise EOFError("body cut short")
                size = int(line.split(b";")[0].strip(), 16)
                if size == 0:
                    while True:
                        t = self.rfile.readline()
                        if not t.endswith(b"\n"):
                            raise EOFError("trailer cut short")
                        if t in (b"\r\n", b"\n"):
                            return data
                chunk = self.rfile.read(size)
                if len(chunk) != size:
                    raise EOFError("chunk cut short")
                data += chunk
                self.rfile.readline()
        n = int(self.headers.get("Content-Length", "0"))
        data = self.rfile.read(n) if n > 0 else b""
        if len(data) != n:
            raise EOFError("body cut short")
        return data

    def echo(self):
        try:
            body = self.read_body()
        except (EOFError, ValueError, OSError):
            self.close_connection = True
            return
        text = (self.requestline + "\n" + str(self.headers)).encode() + body
        with self.lock:
            with open(self.log_path, "ab") as f:
                f.write(text + b"\n----\n")
        modes = {m.strip() for m in self.headers.get("X-Echo", "").split(",")}
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        if "headers" in modes:
            for name, value in self.headers.items():
                self.send_header("X-Echo-" + name, value)
        if "gzip" in modes:
            text = gzip.compress(text)
            self.send_header("Content-Encoding", "gzip")
        if "chunked" in modes:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            at, size = 0, 1
            while at < len(text):
                part = text[at:at + size]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                self.wfile.flush()
                at += len(part)
                size = size % 13 + 1
            self.wfile.write(b"0\r\n\r\n")
            return
        if "close" in modes:
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(text)
            self.close_connection = True
            return
        self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        if "split" in modes:
            self.wfile.flush()
            for at in range(0, len(text), 5):
                self.wfile.write(text[at:at + 5])
                self.wfile.flush()
                time.sleep(0.001)
            return
        self.wfile.write(text)

    do_GET = do_POST = do_PUT = echo


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    a = ap.parse_args()
    Handler.log_path = a.log
    srv = Server(("127.0.0.1", 0), Handler)
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
