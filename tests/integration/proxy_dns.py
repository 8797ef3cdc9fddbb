#!/usr/bin/env python3
"""A fixed-answer DNS responder for the airlock-proxy tests.

  proxy_dns.py READYFILE ADDR PORT NAME=IP[,IP...]...

Answers A and AAAA queries over UDP from the table (IPv4 addresses answer
A, IPv6 ones AAAA); other names get NXDOMAIN, other types an empty answer.
Only meant for loopback inside a test's own network namespace.
"""
import socket
import struct
import sys


def parse_name(msg, off):
    labels = []
    while True:
        n = msg[off]
        off += 1
        if n == 0:
            return ".".join(labels).lower(), off
        labels.append(msg[off:off + n].decode("ascii", "replace"))
        off += n


def answer(msg, table):
    qid, flags, qd = struct.unpack(">HHH", msg[:6])
    name, off = parse_name(msg, 12)
    qtype, qclass = struct.unpack(">HH", msg[off:off + 4])
    question = msg[12:off + 4]
    addrs = table.get(name)
    rcode = 3 if addrs is None else 0
    answers = b""
    count = 0
    for a in addrs or []:
        fam = socket.AF_INET6 if ":" in a else socket.AF_INET
        t = 28 if fam == socket.AF_INET6 else 1
        if t != qtype:
            continue
        rdata = socket.inet_pton(fam, a)
        answers += struct.pack(">HHHIH", 0xC00C, t, 1, 60, len(rdata)) + rdata
        count += 1
    head = struct.pack(">HHHHHH", qid, 0x8180 | rcode, 1, count, 0, 0)
    return head + question + answers


def main():
    ready, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    table = {}
    for item in sys.argv[4:]:
        name, _, ips = item.partition("=")
        table[name.lower()] = ips.split(",")
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, port))
    with open(ready, "w") as f:
        f.write("ready\n")
    while True:
        msg, peer = s.recvfrom(512)
        try:
            s.sendto(answer(msg, table), peer)
        except (IndexError, struct.error, UnicodeDecodeError):
            pass


if __name__ == "__main__":
    main()
