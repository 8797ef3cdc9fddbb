#!/usr/bin/env python3
"""Raw-socket clients for the airlock-proxy tests (loopback only).

  proxy_clients.py corpus PORT DIR        send each file of DIR as a request;
                                          print "<file> <status or ->" lines
  proxy_clients.py send PORT FILE         one request, print the status line
  proxy_clients.py slowloris PORT N SECS URL
                                          N connections trickling a head one
                                          header line a second; prints how
                                          many the proxy closed within SECS
  proxy_clients.py idle PORT N            open N idle connections; print how
                                          many got "503" at once
  proxy_clients.py tunnel PORT HOST:PORT READY GO
                                          CONNECT, GET /hello inside, write
                                          READY, wait for file GO, GET again
                                          on the same tunnel; print both
  proxy_clients.py unix PATH URL          GET URL through a proxy on a Unix
                                          socket; print status and body
  proxy_clients.py backlog PORTFILE       a listener whose backlog is full
                                          (SYNs get dropped), until killed
"""
import os
import selectors
import socket
import sys
import time


def status_of(sock, limit=5.0):
    sock.settimeout(limit)
    data = b""
    try:
        while b"\r\n" not in data and len(data) < 4096:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    except (socket.timeout, ConnectionResetError):
        pass
    line = data.split(b"\r\n", 1)[0]
    parts = line.split(b" ")
    if len(parts) >= 2 and parts[0].startswith(b"HTTP/1."):
        return parts[1].decode()
    return "-"


def corpus(port, d):
    for name in sorted(os.listdir(d)):
        with open(os.path.join(d, name), "rb") as f:
            data = f.read()
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        try:
            s.sendall(data)
        except OSError:
            pass
        print(name, status_of(s))
        s.close()


def send(port, path):
    with open(path, "rb") as f:
        data = f.read()
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        s.sendall(data)
    except OSError:
        pass
    print(status_of(s, 10))


def slowloris(port, n, secs, url):
    sel = selectors.DefaultSelector()
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n" % url).encode())
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
        socks.append(s)
    closed = set()
    end = time.monotonic() + secs
    last = time.monotonic()
    while time.monotonic() < end and len(closed) < n:
        for key, _ in sel.select(timeout=0.2):
            s = key.fileobj
            try:
                data = s.recv(4096)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                data = b""
            if not data or b"\r\n" in data:
                closed.add(s)
                sel.unregister(s)
        if time.monotonic() - last >= 1.0:
            last = time.monotonic()
            for s in socks:
                if s not in closed:
                    try:
                        s.send(b"X-Slow: 1\r\n")
                    except OSError:
                        pass
    print(len(closed))
    for s in socks:
        s.close()


def idle(port, n):
    socks, busy = [], 0
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        socks.append(s)
    time.sleep(0.5)
    for s in socks:
        s.setblocking(False)
        try:
            if s.recv(64).startswith(b"HTTP/1.1 503"):
                busy += 1
        except OSError:
            pass
    print(busy)
    for s in socks:
        s.close()


def http_get(sock, host):
    sock.sendall(("GET /hello HTTP/1.1\r\nHost: %s\r\n\r\n" % host).encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            return "-"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v)
    while len(body) < length:
        chunk = sock.recv(4096)
        if not chunk:
            break
        body += chunk
    return head.split(b" ")[1].decode() + " " + body.decode().strip()


def tunnel(port, target, ready, go):
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    s.sendall(("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (target, target)).encode())
    print("connect:", status_of(s, 10))
    # status_of read at most the answer's head: a 200 has no body.
    print("first:", http_get(s, target), flush=True)
    with open(ready, "w") as f:
        f.write("open\n")
    end = time.monotonic() + 30
    while not os.path.exists(go) and time.monotonic() < end:
        time.sleep(0.05)
    print("second:", http_get(s, target), flush=True)


def unix(path, url):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % url).encode())
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    print(head.split(b" ")[1].decode(), body.decode().strip())


def backlog(portfile):
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(0)
    port = srv.getsockname()[1]
    fill = []
    for _ in range(4):
        c = socket.socket()
        c.setblocking(False)
        try:
            c.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        fill.append(c)
    time.sleep(0.3)
    with open(portfile + ".tmp", "w") as f:
        f.write("%d\n" % port)
    os.rename(portfile + ".tmp", portfile)
    time.sleep(600)


def main():
    cmd = sys.argv[1]
    if cmd == "corpus":
        corpus(int(sys.argv[2]), sys.argv[3])
    elif cmd == "send":
        send(int(sys.argv[2]), sys.argv[3])
    elif cmd == "slowloris":
        slowloris(int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]),
                  sys.argv[5])
    elif cmd == "idle":
        idle(int(sys.argv[2]), int(sys.argv[3]))
    elif cmd == "tunnel":
        tunnel(int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5])
    elif cmd == "unix":
        unix(sys.argv[2], sys.argv[3])
    elif cmd == "backlog":
        backlog(sys.argv[2])
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
