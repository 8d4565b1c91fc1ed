"""The in-sandbox test runner of the `code` task kind (stdlib only; never imported by Workbench).

Run as ``python3 wb_runner.py wb_spec.json`` in the sandbox work dir, next to ``candidate.py``.
The parent process never executes candidate code: it compiles it (a syntax error ends the run)
and forks one child per test. The child loads the prompt's context and the candidate into a fresh
module namespace, binds ``candidate`` to the entry point, runs the test's setup and body under
``signal.setitimer`` and sends one length-prefixed JSON result back through a pipe. Its stdout
and stderr are captured (capped) at the Python level and its file descriptors 0-2 point at
/dev/null, so prints, floods and ``exit()`` cannot corrupt the report. The parent kills the
child's process group after the per-test limit plus a grace period (a candidate that swallows
the alarm), and stops running tests when the run's time budget is used up. At the end it prints
ONE line: the spec's marker followed by the JSON report.

A test is one of: ``code`` (statements; passes when nothing raises; a lone ``assert a <op> b``
reports both sides), ``call`` + ``expected`` (two expressions, compared with a float tolerance
and lists == tuples), or ``call`` alone (records the value, for consensus runs).
"""

import ast
import builtins
import hashlib
import io
import json
import linecache
import math
import operator
import os
import reprlib
import resource
import select
import signal
import struct
import sys
import time
import traceback

# Tuples rather than `int | float`: the host's python3 may be older than Workbench's (3.8+ works).
NUMBERS = (int, float)
SEQUENCES = (list, tuple)
FILES = ("candidate.py", "prompt.py", "<setup>", "<test>")
CMP = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}
SHORT = reprlib.Repr()
SHORT.maxstring = SHORT.maxother = 300
SHORT.maxlist = SHORT.maxtuple = SHORT.maxset = SHORT.maxdict = 30
SHORT.maxlevel = 4


class TestTimeout(BaseException):
    """Raised by the alarm; a BaseException so `except Exception` in candidates cannot eat it."""


class Mismatch(AssertionError):
    """A failed comparison with both sides kept."""

    def __init__(self, got, expected, op):
        super().__init__(f"expected {short(expected)}, got {short(got)}" if op == "==" else op)
        self.got, self.expected = got, expected


NO_TRACEBACK = (Mismatch, SystemExit)


class Capture(io.TextIOBase):
    """A stdout/stderr stand-in that keeps the first `cap` characters and counts the rest."""

    def __init__(self, cap):
        self.cap, self.parts, self.kept, self.seen = cap, [], 0, 0

    def write(self, s):
        s = str(s)
        self.seen += len(s)
        if self.kept < self.cap:
            self.parts.append(s[: self.cap - self.kept])
            self.kept += len(self.parts[-1])
        return len(s)

    def writable(self):
        return True

    def text(self):
        out = "".join(self.parts)
        dropped = self.seen - self.kept
        return out + (f"\n... [{dropped} chars dropped]" if dropped else "")


def short(value):
    """A capped repr that never raises."""
    try:
        return SHORT.repr(value)
    except BaseException as exc:  # a candidate object whose __repr__ fails
        return f"<unprintable {type(value).__name__}: {type(exc).__name__}>"


def same(got, expected):
    """Equality with a float tolerance; lists and tuples compare element-wise."""
    if isinstance(got, bool) or isinstance(expected, bool):
        return got == expected
    if isinstance(got, NUMBERS) and isinstance(expected, NUMBERS):
        if isinstance(got, float) or isinstance(expected, float):
            if math.isnan(got) and math.isnan(expected):
                return True
            return math.isclose(got, expected, rel_tol=1e-6, abs_tol=1e-9)
        return got == expected
    if isinstance(got, SEQUENCES) and isinstance(expected, SEQUENCES):
        return len(got) == len(expected) and all(map(same, got, expected))
    if isinstance(got, dict) and isinstance(expected, dict):
        return got.keys() == expected.keys() and all(same(got[k], expected[k]) for k in got)
    return bool(got == expected)


def message(exc):
    """str(exc), capped, never raising."""
    try:
        text = str(exc)
    except BaseException:
        return f"<{type(exc).__name__} with an unprintable message>"
    return text if len(text) <= 500 else text[:500] + "..."


def jsonable(value, cap):
    """(JSON value, truncated): the value itself when JSON can hold it, else its repr."""
    try:
        text = json.dumps(value, allow_nan=True)
        data = value
    except (TypeError, ValueError, RecursionError):
        data = {"__repr__": short(value)}
        text = json.dumps(data)
    if len(text) > cap:
        return {"__sha256__": hashlib.sha256(text.encode()).hexdigest()}, True
    return data, False


def trimmed_traceback(exc, cap):
    """The traceback restricted to the candidate's and the test's frames, capped."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename in FILES]
    if len(frames) > 10:
        omitted = len(frames) - 8
        lines = traceback.format_list(frames[:3])
        lines.append(f"  ... ({omitted} more frames: deep recursion?)\n")
        lines += traceback.format_list(frames[-5:])
    else:
        lines = traceback.format_list(frames)
    lines += traceback.format_exception_only(type(exc), exc)
    text = "Traceback (most recent call last):\n" + "".join(lines)
    return text if len(text) <= cap else text[: cap // 3] + "\n...\n" + text[-(2 * cap) // 3 :]


def run_code(code, ns):
    """Exec test statements; a lone `assert left <op> right` keeps both sides for the report."""
    tree = ast.parse(code, "<test>")
    node = tree.body[0] if len(tree.body) == 1 else None
    if isinstance(node, ast.Assert) and isinstance(node.test, ast.Compare):
        cmp = node.test
        if len(cmp.ops) == 1 and type(cmp.ops[0]) in CMP:
            left = eval(compile(ast.Expression(cmp.left), "<test>", "eval"), ns)
            right = eval(compile(ast.Expression(cmp.comparators[0]), "<test>", "eval"), ns)
            if not CMP[type(cmp.ops[0])](left, right):
                op = "==" if isinstance(cmp.ops[0], ast.Eq) else code.strip()
                raise Mismatch(left, right, op if op == "==" else f"assertion failed: {op}")
            return
    exec(compile(tree, "<test>", "exec"), ns)


def on_alarm(signum, frame):
    raise TestTimeout()


def child(test, codes, spec, timeout):
    """Run one test in this (forked) process and return its JSON-ready result."""
    os.setpgid(0, 0)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    cap = Capture(int(spec.get("stdout_cap", 2000)))
    sys.stdout = sys.stderr = cap
    sys.stdin = io.StringIO("")
    mem = spec.get("memory_mb")
    if mem:
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = int(mem) * 2**20
        if hard == resource.RLIM_INFINITY or limit < hard:
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    text_cap = int(spec.get("text_cap", 2000))
    res = {"phase": "load", "passed": False}
    for name in ("setup", "code", "call"):
        text = test.get(name) or ""
        fname = "<setup>" if name == "setup" else "<test>"
        if text:
            linecache.cache[fname] = (len(text), None, text.splitlines(True), fname)
    signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        ns = {"__name__": "candidate", "__builtins__": builtins}
        exec(codes["prompt.py"], ns)
        exec(codes["candidate.py"], ns)
        entry = spec["entry_point"]
        if not callable(ns.get(entry)):
            raise NameError(f"the code does not define a function named {entry!r}")
        ns["candidate"] = ns[entry]
        res["phase"] = "setup"
        if test.get("setup"):
            exec(compile(test["setup"], "<setup>", "exec"), ns)
        res["phase"] = "test"
        if test.get("call"):
            got = eval(compile(test["call"], "<test>", "eval"), ns)
            if test.get("expected") is not None:
                expected = eval(compile(test["expected"], "<test>", "eval"), ns)
                if not same(got, expected):
                    raise Mismatch(got, expected, "==")
            else:
                res["value"], res["value_truncated"] = jsonable(got, int(spec.get("value_cap")))
                res["repr"] = short(got)
        elif test.get("code"):
            run_code(test["code"], ns)
        signal.setitimer(signal.ITIMER_REAL, 0)
        res["passed"] = True
    except TestTimeout:
        signal.setitimer(signal.ITIMER_REAL, 0)
        res.update(error_type="Timeout", message=f"timed out after {timeout:g} s")
    except BaseException as exc:
        signal.setitimer(signal.ITIMER_REAL, 0)
        res["error_type"] = "AssertionError" if isinstance(exc, Mismatch) else type(exc).__name__
        if isinstance(exc, SystemExit):
            res["message"] = f"the code called exit({short(exc.code)})"
        else:
            res["message"] = message(exc)
        if isinstance(exc, Mismatch):
            res["got"], res["expected"] = short(exc.got), short(exc.expected)
        if not isinstance(exc, NO_TRACEBACK):
            res["traceback"] = trimmed_traceback(exc, text_cap)
    res["stdout"] = cap.text()
    return res


def send(fd, obj):
    try:
        data = json.dumps(obj).encode()
    except BaseException as exc:
        data = json.dumps({"passed": False, "error_type": "HarnessError", "message": repr(exc)})
        data = data.encode()
    data = struct.pack("!I", len(data)) + data
    while data:
        data = data[os.write(fd, data) :]


def receive(fd, deadline):
    """Read one length-prefixed message; None on EOF or when the deadline passes."""
    buf, need = b"", None
    while True:
        if need is not None and len(buf) >= 4 + need:
            try:
                return json.loads(buf[4 : 4 + need])
            except ValueError:  # interleaved writes from processes the candidate forked
                return {"passed": False, "error_type": "HarnessError", "message": "bad result"}
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return None
        chunk = os.read(fd, 65536)
        if not chunk:
            return None
        buf += chunk
        if need is None and len(buf) >= 4:
            need = struct.unpack("!I", buf[:4])[0]


def fork():
    """os.fork, retried while a previous test's processes are still being reaped; None if not."""
    for delay in (0.05, 0.1, 0.2, 0.4, 0.8, 0):
        try:
            return os.fork()
        except OSError:
            if not delay:
                return None
            time.sleep(delay)
    return None


def reap_group(pgid, deadline_s=3.0):
    """Kill the test's process group until it is gone (forked children, a fork bomb's too).

    A group member counts until it is reaped, so the next test could otherwise find the
    process limit still full of this one's leftovers and fail at its first fork.
    """
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            return
        except OSError:
            return
        time.sleep(0.02)


def run_isolated(test, codes, spec, timeout):
    start = time.monotonic()
    r, w = os.pipe()
    pid = fork()
    if pid is None:
        os.close(r)
        os.close(w)
        return {
            "name": test["name"],
            "passed": False,
            "phase": "test",
            "error_type": "Crash",
            "message": "could not start the test process (too many processes left running?)",
        }
    if pid == 0:  # the child: never returns
        me = os.getpid()
        os.close(r)
        try:
            res = child(test, codes, spec, timeout)
        except BaseException as exc:
            res = {"passed": False, "error_type": "HarnessError", "message": repr(exc)}
        try:
            if os.getpid() == me:  # not a process the candidate forked
                send(w, res)
        finally:
            os._exit(0)
    os.close(w)
    try:
        os.setpgid(pid, pid)
    except OSError:
        pass
    grace = float(spec.get("grace_s", 1.0))
    res = receive(r, start + timeout + grace)
    os.close(r)
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass
    _, status = os.waitpid(pid, 0)
    reap_group(pid)
    if res is None:
        if time.monotonic() - start >= timeout + grace - 0.05:
            res = {"error_type": "Timeout", "message": f"timed out after {timeout:g} s (killed)"}
        elif os.WIFSIGNALED(status):
            sig = signal.Signals(os.WTERMSIG(status)).name
            hint = " (out of memory?)" if sig == "SIGKILL" else ""
            hint = " (stack overflow from deep recursion?)" if sig == "SIGSEGV" else hint
            res = {"error_type": "Crash", "message": f"the test process died of {sig}{hint}"}
        else:
            code = os.WEXITSTATUS(status)
            res = {"error_type": "Exit", "message": f"the test process exited ({code}) early"}
        res.update(passed=False, phase="test")
    res["name"] = test["name"]
    res["duration_s"] = round(time.monotonic() - start, 4)
    return res


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        spec = json.load(f)
    with open("candidate.py", encoding="utf-8", errors="replace") as f:
        source = f.read()
    context = spec.get("context", "")
    for name, text in (("candidate.py", source), ("prompt.py", context)):
        linecache.cache[name] = (len(text), None, text.splitlines(True), name)
    report = {"tests": [], "load_error": None}
    try:
        codes = {
            "prompt.py": compile(context, "prompt.py", "exec"),
            "candidate.py": compile(source, "candidate.py", "exec"),
        }
    except (SyntaxError, ValueError) as exc:
        tb = "".join(traceback.format_exception_only(type(exc), exc))
        report["load_error"] = {"error_type": type(exc).__name__, "message": tb.strip()}
        codes = None
    start = time.monotonic()
    budget = float(spec["total_timeout_s"])
    per_test = float(spec["test_timeout_s"])
    for test in spec["tests"] if codes else ():
        left = budget - (time.monotonic() - start)
        if left < 0.2:
            report["tests"].append(
                {
                    "name": test["name"],
                    "passed": False,
                    "phase": "not_run",
                    "error_type": "NotRun",
                    "message": "not run: the time budget of the whole run was used up",
                }
            )
            continue
        if report["tests"] and report["tests"][-1].get("phase") == "load":
            # defining the code failed; it would fail the same way for every test
            same_failure = dict(report["tests"][-1], name=test["name"], duration_s=0.0)
            report["tests"].append(same_failure)
            continue
        report["tests"].append(run_isolated(test, codes, spec, min(per_test, left)))
    data = (spec["marker"] + json.dumps(report) + "\n").encode()
    while data:
        data = data[os.write(1, data) :]


if __name__ == "__main__":
    main()
