#!/usr/bin/env python3
"""Run a command as UID:GID where the kernel forbids new user namespaces.

usage: userns_deny.py UID GID CMD [ARG...]   (as root)

The command runs in a user namespace the script makes, which maps root and
UID (each to itself), and whose user.max_user_namespaces is 0: that limit is
per user namespace, so the host's own stays as it is.  Exits with the
command's status.
"""
import ctypes
import os
import sys

CLONE_NEWUSER = 0x10000000


def main():
    uid, gid, argv = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
    libc = ctypes.CDLL(None, use_errno=True)
    r, w = os.pipe()
    r2, w2 = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        os.close(w2)
        if libc.unshare(CLONE_NEWUSER) != 0:
            os._exit(100)
        os.write(w, b"u")
        os.close(w)
        if os.read(r2, 1) != b"m":
            os._exit(101)
        with open("/proc/sys/user/max_user_namespaces", "w") as f:
            f.write("0\n")
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
        os.execvp(argv[0], argv)
    os.close(w)
    os.close(r2)
    if os.read(r, 1) != b"u":
        sys.exit("userns_deny: the child could not unshare")
    for name, line in (("uid_map", "0 0 1\n%d %d 1\n" % (uid, uid)),
                       ("gid_map", "0 0 1\n%d %d 1\n" % (gid, gid))):
        with open("/proc/%d/%s" % (pid, name), "w") as f:
            f.write(line)
    os.write(w2, b"m")
    os.close(w2)
    _, status = os.waitpid(pid, 0)
    sys.exit(os.waitstatus_to_exitcode(status))


if __name__ == "__main__":
    main()
