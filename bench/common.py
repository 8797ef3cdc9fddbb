"""Shared bits of bench/fs and bench/proxy (python3 standard library only).

Where things live, how a figure is timed and summarised, how the table is
drawn, how doc/benchmarks.md is updated, and the cleanup that runs on every
way out (normal exit, an exception, SIGINT, SIGTERM, SIGHUP).
"""

import datetime
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import time

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC = os.path.join(SRC, "doc", "benchmarks.md")
T0 = time.monotonic()


def log(msg):
    print("[%6.1fs] %s" % (time.monotonic() - T0, msg), file=sys.stderr,
          flush=True)


def die(msg, status=2):
    log("error: " + msg)
    sys.exit(status)


def build_dir(arg):
    """The build directory: --build, else $AIRLOCK_BUILD, else SRC/build
    (where scripts/build.sh builds)."""
    return os.path.abspath(arg or os.environ.get("AIRLOCK_BUILD")
                           or os.path.join(SRC, "build"))


def work_dir(name):
    """A cache and scratch directory that survives runs (the built tree,
    the 1 GiB file), under /var/tmp unless $AIRLOCK_BENCH_DIR says."""
    base = os.environ.get("AIRLOCK_BENCH_DIR", "/var/tmp/airlock-bench")
    path = os.path.join(base, name)
    os.makedirs(path, exist_ok=True)
    return path


def raise_nofile(want=65536):
    """Raise RLIMIT_NOFILE (inherited by every server and client we start)
    to want, past the hard limit when root may; returns the new limit."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for n in (max(want, hard), hard):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (n, n))
            return n
        except (ValueError, OSError):
            pass
    return soft


# -- cleanup ---------------------------------------------------------------

_cleanups = []


def on_exit(fn, *args):
    """Run fn(*args) on the way out, last registered first.  Returns a
    handle for cancel()."""
    entry = [fn, args]
    _cleanups.append(entry)
    return entry


def cancel(entry, run=True):
    """Run (or just forget) one registered cleanup now."""
    if entry in _cleanups:
        _cleanups.remove(entry)
        if run:
            entry[0](*entry[1])


def run_cleanups():
    while _cleanups:
        fn, args = _cleanups.pop()
        try:
            fn(*args)
        except Exception as e:  # keep cleaning the rest
            log("cleanup %s: %s" % (getattr(fn, "__name__", fn), e))


def _on_signal(signum, frame):
    # Turn the signal into SystemExit so that finally: blocks run, then
    # the cleanups; a second signal during cleanup is ignored.
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, signal.SIG_IGN)
    log("signal %d: cleaning up" % signum)
    sys.exit(128 + signum)


def main_wrapper(fn):
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, _on_signal)
    status = 0
    try:
        status = fn() or 0
    except SystemExit as e:
        status = e.code if isinstance(e.code, int) else 1
    finally:
        for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(s, signal.SIG_IGN)
        run_cleanups()
    sys.exit(status)


def kill_proc(proc, timeout=10):
    """Terminate a Popen we started (and wait for it), then KILL it."""
    if proc is None or proc.poll() is not None:
        return
    try:
        proc.terminate()
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)


# -- running and timing ------------------------------------------------------

def run(cmd, cwd=None, check=True, capture=False, timeout=600, env=None,
        quiet=False):
    """Run cmd (a list, or a string for bash -c).  Raises on failure when
    check; returns the CompletedProcess."""
    shell = isinstance(cmd, str)
    out = subprocess.PIPE if capture else (subprocess.DEVNULL if quiet
                                           else None)
    err = subprocess.PIPE if capture else (subprocess.DEVNULL if quiet
                                           else None)
    p = subprocess.run(["bash", "-c", cmd] if shell else cmd, cwd=cwd,
                       stdout=out, stderr=err, timeout=timeout, env=env,
                       universal_newlines=True)
    if check and p.returncode != 0:
        raise RuntimeError("%s: exit %d%s" % (
            cmd if shell else " ".join(cmd), p.returncode,
            (": " + (p.stderr or "").strip()[-400:]) if capture else ""))
    return p


def timed(cmd, cwd=None, timeout=600, ok_codes=(0,)):
    """Wall-clock seconds of one run of cmd, output discarded."""
    shell = isinstance(cmd, str)
    t = time.perf_counter()
    p = subprocess.run(["bash", "-c", cmd] if shell else cmd, cwd=cwd,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       timeout=timeout, universal_newlines=True)
    dt = time.perf_counter() - t
    if p.returncode not in ok_codes:
        raise RuntimeError("%s: exit %d: %s" % (
            cmd if shell else " ".join(cmd), p.returncode,
            p.stderr.strip()[-400:]))
    return dt


def have(prog):
    return shutil.which(prog) is not None


def wait_for(pred, timeout, what, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(interval)
    raise RuntimeError("timed out after %gs waiting for %s" % (timeout, what))


def drop_caches():
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


# -- the machine -------------------------------------------------------------

def machine():
    cpu = "unknown cpu"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = 0
    try:
        with open("/proc/meminfo") as f:
            mem = int(f.readline().split()[1]) // (1024 * 1024)
    except (OSError, ValueError, IndexError):
        pass
    now = datetime.datetime.now(datetime.timezone.utc)
    return {
        "nproc": os.cpu_count(),
        "kernel": platform.release(),
        "cpu": cpu,
        "mem_gib": mem,
        "date": now.strftime("%Y-%m-%d %H:%M UTC"),
    }


def loadavg():
    """The 1-minute load average: other work on this machine."""
    try:
        with open("/proc/loadavg") as f:
            return float(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return -1.0


def wait_idle(limit, seconds):
    """Wait up to seconds for the load average to fall below limit, so
    that a run starts on a quiet machine when it can."""
    deadline = time.monotonic() + seconds
    while loadavg() >= limit and time.monotonic() < deadline:
        log("load average %.2f >= %.2f: waiting" % (loadavg(), limit))
        time.sleep(min(30, max(1, deadline - time.monotonic())))
    return loadavg()


def busy_note(load_start, load_end, limit=1.5):
    """A warning for the doc when the run shared the machine."""
    if max(load_start, load_end) < limit:
        return []
    return ["", "**The machine was busy during this run** (load average "
            "%.1f at the start, %.1f at the end, on %d cores): absolute "
            "figures are well below a quiet machine's, and a row that "
            "measures a small difference (an added latency) is within the "
            "noise. Ratios hold better, since every backend took its turn "
            "in each round. Rerun with `--wait-idle 1800` on a quiet "
            "machine for figures to quote." % (
                load_start, load_end, os.cpu_count() or 0)]


def source_rev(build, binary=None):
    """Which airlock was measured: the source commit now, the build, and
    when the measured binary was built (the tree may have moved since)."""
    try:
        rev = subprocess.run(["git", "-C", SRC, "describe", "--always",
                              "--dirty"], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL,
                             universal_newlines=True).stdout.strip()
    except OSError:
        rev = ""
    text = "source at %s, built in %s" % (rev or "(no git)", build)
    if binary and os.path.exists(binary):
        t = datetime.datetime.fromtimestamp(os.path.getmtime(binary),
                                            datetime.timezone.utc)
        text += " (%s built %s)" % (os.path.basename(binary),
                                    t.strftime("%Y-%m-%d %H:%M UTC"))
    return text


def machine_line(m):
    return ("%s; nproc %d, %d GiB; Linux %s; %s" % (
        m["cpu"], m["nproc"], m["mem_gib"], m["kernel"], m["date"]))


# -- figures and tables ------------------------------------------------------

class Row:
    """One figure measured on every backend.

    unit: "s" (a duration: lower is better), "MiB/s", "req/s" (higher is
    better), "ms" or "KiB" (lower is better).  target: (op, x) on the ratio
    to the base column, op "<=" or ">="; or ("abs<=", x) on the value
    itself (e.g. an added latency in ms).
    """

    LOWER = ("s", "ms", "KiB", "MiB")

    def __init__(self, key, name, unit, target=None, note=""):
        self.key = key
        self.name = name
        self.unit = unit
        self.target = target
        self.note = note
        self.samples = {}  # backend -> [float]
        self.errors = {}   # backend -> str

    @property
    def lower_is_better(self):
        return self.unit in self.LOWER

    def median(self, backend):
        xs = self.samples.get(backend)
        return statistics.median(xs) if xs else None

    def ratio(self, backend, base):
        m, b = self.median(backend), self.median(base)
        if m is None or b is None or b == 0:
            return None
        return m / b

    def verdict(self, backend, base):
        """'pass', 'FAIL' or '' (no target or no figure)."""
        if self.target is None or backend in self.errors:
            return ""
        op, x = self.target
        if op == "abs<=":
            m = self.median(backend)
            return "" if m is None else ("pass" if m <= x else "FAIL")
        r = self.ratio(backend, base)
        if r is None:
            return ""
        return "pass" if (r <= x if op == "<=" else r >= x) else "FAIL"

    def target_text(self):
        if self.target is None:
            return ""
        op, x = self.target
        if op == "abs<=":
            return "≤ %g %s" % (x, self.unit)
        return "%s %gx" % ("≤" if op == "<=" else "≥", x)

    def beats(self, backend, peer, base):
        """'yes'/'no'/'' whether backend is better than peer on this row."""
        a, b = self.median(backend), self.median(peer)
        if a is None or b is None:
            return ""
        better = a < b if self.lower_is_better else a > b
        return "yes" if better else "no"


def fmt_value(x, unit):
    if x is None:
        return "—"
    if unit == "s":
        if x < 1:
            return "%.1f ms" % (x * 1e3) if x >= 0.01 else \
                "%.2f ms" % (x * 1e3)
        return "%.2f s" % x
    if abs(x) >= 100:
        return "%.0f %s" % (x, unit)
    if abs(x) >= 10:
        return "%.1f %s" % (x, unit)
    return "%.2f %s" % (x, unit)


def cell(row, backend, base, show_ratio=True):
    if backend in row.errors:
        return "error"
    m = row.median(backend)
    if m is None:
        return "—"
    text = fmt_value(m, row.unit)
    if show_ratio and backend != base:
        r = row.ratio(backend, base)
        if r is not None:
            text += " (%.2fx)" % r
    return text


def table(rows, backends, base, subject, peer=None, show_ratio=True):
    """Markdown lines: one row per figure, a column per backend (median,
    and its ratio to base), then the target and whether subject meets it,
    and whether subject beats peer."""
    head = ["figure"] + backends + ["target", "%s meets it" % subject]
    if peer:
        head.append("beats %s" % peer)
    lines = ["| " + " | ".join(head) + " |",
             "|" + "|".join(["---"] + ["---:"] * len(backends)
                             + ["---"] * (len(head) - 1 - len(backends)))
             + "|"]
    for row in rows:
        cols = [row.name] + [cell(row, b, base, show_ratio)
                             for b in backends]
        cols.append(row.target_text())
        cols.append(row.verdict(subject, base))
        if peer:
            cols.append(row.beats(subject, peer, base))
        lines.append("| " + " | ".join(cols) + " |")
    return lines


def save_samples(path, rows, extra=None):
    """Every sample of the run as JSON, before anything is drawn from
    them, so that a failure later loses no measurement."""
    import json
    data = {"machine": machine(), "extra": extra or {},
            "rows": [{"key": r.key, "name": r.name, "unit": r.unit,
                      "samples": r.samples, "errors": r.errors}
                     for r in rows]}
    with open(path, "w") as f:
        json.dump(data, f, indent=1)
    log("samples saved in %s" % path)


def print_table(lines):
    """The markdown table, aligned for a terminal."""
    cells = [[c.strip() for c in l.strip("|").split("|")] for l in lines]
    widths = [max(len(r[i]) for r in cells if i < len(r))
              for i in range(len(cells[0]))]
    for n, r in enumerate(cells):
        if n == 1:
            print("  ".join("-" * w for w in widths))
            continue
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                        for i, (c, w) in enumerate(zip(r, widths))))


def doc_update(section, body, path=DOC):
    """Replace the text between <!-- bench:SECTION begin --> and
    <!-- bench:SECTION end --> in doc/benchmarks.md (appending the section
    when it is not there yet), leaving every other section alone."""
    begin = "<!-- bench:%s begin -->" % section
    end = "<!-- bench:%s end -->" % section
    try:
        with open(path) as f:
            text = f.read()
    except FileNotFoundError:
        text = "# airlock benchmarks\n"
    block = begin + "\n" + body.rstrip("\n") + "\n" + end
    i, j = text.find(begin), text.find(end)
    if i != -1 and j > i:
        text = text[:i] + block + text[j + len(end):]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)
    log("wrote the %s section of %s" % (section, os.path.relpath(path)))
