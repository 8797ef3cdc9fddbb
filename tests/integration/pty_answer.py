#!/usr/bin/env python3
"""Answer a command's "[y/N]" prompts on a real terminal (loopback-free).

  pty_answer.py ANSWERS ARGV...

Runs ARGV on a new pty and answers each "[y/N]" prompt with the next
character of ANSWERS ("n" once they run out); prints what ARGV wrote and
"exit N".  Bounded: 30 s in all.
"""
import os
import pty
import select
import sys
import time

answers, argv = list(sys.argv[1]), sys.argv[2:]
pid, fd = pty.fork()
if pid == 0:
    os.execv(argv[0], argv)
out, seen, end = b"", 0, time.monotonic() + 30
while time.monotonic() < end:
    r, _, _ = select.select([fd], [], [], 0.5)
    if not r:
        continue
    try:
        data = os.read(fd, 4096)
    except OSError:
        break
    if not data:
        break
    out += data
    while out.count(b"[y/N]") > seen:
        seen += 1
        os.write(fd, (answers.pop(0) if answers else "n").encode() + b"\n")
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace"))
print("exit %d" % os.waitstatus_to_exitcode(status))
