"""The in-sandbox test runner of the `code` task kind (stdlib only; never imported by Workbench).

One file, two roles, run side by side by the sandbox (`workbench.sandbox.Judge`):

- ``python3 -I wb_runner.py judge wb_spec.json`` -- the *judge*, in a directory the code cannot
  read, as a user the code cannot signal or trace. It holds the tests (hidden ones included),
  runs their code itself, and prints ONE JSON report on its stdout, which only it can write.
- ``python3 -I wb_runner.py worker`` -- the *worker*, in the code's work dir next to
  ``candidate.py``. It never sees a test: for each test the judge asks it to load the candidate
  in a fresh forked process, then to call functions with arguments; it answers with values.

Inside the test code, ``candidate`` (and the entry point's name) is a proxy: calling it sends
the arguments to the worker and returns the decoded answer. Answers are decoded into plain data
only (numbers, strings, lists, tuples, dicts, sets, bytes, None; anything else becomes an opaque
value equal to nothing), so a returned object cannot fake equality, and nothing the code prints,
exits with or writes can reach the verdict. The judge keeps its own per-test clock.

A test is one of: ``code`` (statements; passes when nothing raises; a lone ``assert a <op> b``
reports both sides), ``call`` + ``expected`` (two expressions, compared with a float tolerance
and lists == tuples), or ``call`` alone (records the value, for consensus runs). Arguments pass
by value: a test cannot see a mutation the code makes to an argument.
"""

import ast
import base64
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
FRAME_CAP = 16 * 1024 * 1024  # largest message either side accepts
KILL_AFTER_S = 0.5  # the worker kills a test process this long after a call's limit
SLACK_S = 1.0  # the judge waits this long past the worker's kill for its answer


class TestTimeout(BaseException):
    """Raised by the alarm; a BaseException so `except Exception` in candidates cannot eat it."""


class Mismatch(AssertionError):
    """A failed comparison with both sides kept."""

    def __init__(self, got, expected, op):
        super().__init__(f"expected {short(expected)}, got {short(got)}" if op == "==" else op)
        self.got, self.expected = got, expected


class CodeFailed(Exception):
    """The code's side could not answer: it died, hung, or sent something unreadable."""

    def __init__(self, kind, message):
        super().__init__(message)
        self.kind = kind


class CandidateError(Exception):
    """The code raised an exception that is not a builtin one."""


NO_TRACEBACK = (Mismatch, SystemExit, CodeFailed)


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


def message(exc):
    """str(exc), capped, never raising."""
    try:
        text = str(exc)
    except BaseException:
        return f"<{type(exc).__name__} with an unprintable message>"
    return text if len(text) <= 500 else text[:500] + "..."


# -- values on the wire: plain data only ----------------------------------------------------------
class Opaque:
    """A value the code returned that is not plain data: equal to nothing, true or false never."""

    def __init__(self, type_name, text):
        self.type_name, self.text = type_name, text

    def __eq__(self, other):
        return False

    def __ne__(self, other):
        return True

    __hash__ = object.__hash__

    def __repr__(self):
        return self.text

    def __bool__(self):
        raise TypeError(f"the code returned a {self.type_name} object, not plain data")


def encode(value, strict):
    """`value` as tagged JSON data; other objects raise (strict) or become opaque."""
    t = type(value)
    if value is None or t is bool or t is str or t is int:
        return value
    if t is float:
        return value if math.isfinite(value) else {"__f": repr(value)}
    if t is list:
        return [encode(v, strict) for v in value]
    if t is tuple:
        return {"__t": [encode(v, strict) for v in value]}
    if t is dict:
        return {"__d": [[encode(k, strict), encode(v, strict)] for k, v in value.items()]}
    if t is set or t is frozenset:
        return {"__s" if t is set else "__fs": [encode(v, strict) for v in value]}
    if t is bytes:
        return {"__b": base64.b64encode(value).decode()}
    if t is complex:
        return {"__c": [encode(value.real, strict), encode(value.imag, strict)]}
    for base in (bool, int, float, str, list, tuple, dict, set, frozenset, bytes):
        if isinstance(value, base):  # a subclass (IntEnum, namedtuple, Counter): its base value
            return encode(base(value) if base is not tuple else tuple(value), strict)
    if strict:
        raise TypeError(f"a {t.__name__} cannot be passed to the code (plain data only)")
    return {"__r": [t.__name__, short(value)]}


def decode(data):
    """Inverse of `encode`; anything malformed raises ValueError."""
    t = type(data)
    if data is None or t is bool or t is int or t is float or t is str:
        return data
    if t is list:
        return [decode(v) for v in data]
    if t is not dict or len(data) != 1:
        raise ValueError("malformed value")
    ((tag, body),) = data.items()
    if tag == "__f" and body in ("nan", "inf", "-inf"):
        return float(body)
    if tag == "__t" and type(body) is list:
        return tuple(decode(v) for v in body)
    if tag == "__d" and type(body) is list:
        return {decode(k): decode(v) for k, v in body}
    if tag in ("__s", "__fs") and type(body) is list:
        return (set if tag == "__s" else frozenset)(decode(v) for v in body)
    if tag == "__b" and type(body) is str:
        return base64.b64decode(body)
    if tag == "__c" and type(body) is list and len(body) == 2:
        return complex(decode(body[0]), decode(body[1]))
    if tag == "__r" and type(body) is list and len(body) == 2:
        return Opaque(str(body[0])[:100], str(body[1])[:400])
    raise ValueError("malformed value")


def jsonable(value, cap):
    """(JSON value, truncated) for the report: the value itself when JSON can hold it."""
    data = {"__repr__": value.text} if isinstance(value, Opaque) else value
    try:
        text = json.dumps(data, allow_nan=True)
    except (TypeError, ValueError, RecursionError):
        data = {"__repr__": short(value)}
        text = json.dumps(data)
    if len(text) > cap:
        return {"__sha256__": hashlib.sha256(text.encode()).hexdigest()}, True
    return data, False


def send(fd, obj):
    data = json.dumps(obj).encode()
    data = struct.pack("!I", len(data)) + data
    while data:
        data = data[os.write(fd, data) :]


EOF = "EOF"  # what `receive` returns when the other side closed the connection


def receive(fd, deadline):
    """One length-prefixed JSON message; `EOF` when the peer closed, None past the deadline.

    Raises:
        CodeFailed: the bytes are not a message (too long, not JSON).
    """
    buf, need = b"", None
    while True:
        if need is not None and len(buf) >= 4 + need:
            try:
                return json.loads(buf[4 : 4 + need])
            except (ValueError, RecursionError):
                raise CodeFailed("Crash", "the code's process sent an unreadable answer") from None
        left = None if deadline == math.inf else deadline - time.monotonic()
        if left is not None and left <= 0:
            return None
        if not select.select([fd], [], [], left)[0]:
            return None
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return EOF
        buf += chunk
        if need is None and len(buf) >= 4:
            need = struct.unpack("!I", buf[:4])[0]
            if need > FRAME_CAP:
                raise CodeFailed("Crash", f"the code's process sent {need} bytes at once")


# -- the worker: the code's side ------------------------------------------------------------------
def on_alarm(signum, frame):
    raise TestTimeout()


def trimmed_traceback(exc, files, cap):
    """The traceback restricted to the frames of `files`, capped."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename in files]
    if len(frames) > 10:
        omitted = len(frames) - 8
        lines = traceback.format_list(frames[:3])
        lines.append(f"  ... ({omitted} more frames: deep recursion?)\n")
        lines += traceback.format_list(frames[-5:])
    else:
        lines = traceback.format_list(frames)
    return "".join(lines)[:cap]


def failure(exc, cap):
    """What the code's side reports about an exception it raised."""
    if isinstance(exc, SystemExit):
        return {"type": "SystemExit", "message": f"the code called exit({short(exc.code)})"}
    return {
        "type": type(exc).__name__,
        "message": message(exc),
        "frames": trimmed_traceback(exc, ("candidate.py", "prompt.py"), cap),
    }


def function(ns, name):
    """The code's function `name`, or NameError."""
    fn = ns.get(name)
    if not callable(fn):
        raise NameError(f"the code does not define a function named {name!r}")
    return fn


def test_process(conn, spec, codes):
    """A forked process for one test: load the code, then answer calls until the pipe closes."""
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
    signal.signal(signal.SIGALRM, on_alarm)
    r, w = conn
    ns = {"__name__": "candidate", "__builtins__": builtins}
    req = receive(r, math.inf)
    while isinstance(req, dict):
        reply = {}
        signal.setitimer(signal.ITIMER_REAL, max(float(req.get("t", 1)), 0.001))
        try:
            if req["op"] == "load":
                exec(codes["prompt.py"], ns)
                exec(codes["candidate.py"], ns)
                function(ns, req["entry"])
                reply["ok"] = True
            else:
                fn = function(ns, req["name"])
                args = [decode(a) for a in req["args"]]
                kwargs = {str(k): decode(v) for k, v in req.get("kwargs", [])}
                got = fn(*args, **kwargs)
                signal.setitimer(signal.ITIMER_REAL, 0)
                reply["value"] = encode(got, strict=False)
        except TestTimeout:
            reply = {"timeout": True}
        except BaseException as exc:
            reply = {"raised": failure(exc, text_cap)}
        signal.setitimer(signal.ITIMER_REAL, 0)
        reply["out"] = cap.text()
        try:
            send(w, reply)
        except (TypeError, ValueError, RecursionError):
            send(w, {"raised": {"type": "ValueError", "message": "the value cannot be sent"}})
        req = receive(r, math.inf)
    os._exit(0)


def worker():
    """Serve the judge on fd 3: one forked process per test, calls relayed to it."""
    judge = 3
    spec = {"stdout_cap": 2000, "text_cap": 2500}
    with open("candidate.py", encoding="utf-8", errors="replace") as f:
        source = f.read()
    with open("prompt.py", encoding="utf-8", errors="replace") as f:
        context = f.read()
    for name, text in (("candidate.py", source), ("prompt.py", context)):
        linecache.cache[name] = (len(text), None, text.splitlines(True), name)
    hello = {"hello": True}
    try:
        codes = {
            "prompt.py": compile(context, "prompt.py", "exec"),
            "candidate.py": compile(source, "candidate.py", "exec"),
        }
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        tb = "".join(traceback.format_exception_only(type(exc), exc))
        hello["syntax_error"] = {"type": type(exc).__name__, "message": tb.strip()[:4000]}
        codes = None
    send(judge, hello)
    child = None
    while True:
        req = receive(judge, math.inf)
        if not isinstance(req, dict) or req.get("op") == "quit":
            return
        if req["op"] == "load":
            spec.update(req.get("spec", {}))
            child = kill(child)
            child = start_test_process(spec, codes)
            if child is None:
                send(
                    judge,
                    {
                        "died": "could not start the test process (too many processes?)",
                        "id": req.get("id"),
                    },
                )
                continue
        if child is None:
            send(judge, {"died": "no test process", "id": req.get("id")})
            continue
        pid, to_child, from_child = child
        try:
            send(to_child, req)
            reply = receive(from_child, time.monotonic() + float(req.get("t", 1)) + KILL_AFTER_S)
        except (OSError, CodeFailed):
            reply = None
        if reply is EOF:  # the test process is ending (os._exit, abort, a crash): let it
            end = time.monotonic() + 1.0
            while child_alive(pid) and time.monotonic() < end:
                time.sleep(0.005)
        if not isinstance(reply, dict):
            timed_out = reply is None and child_alive(pid)
            child = kill(child)
            reply = {"timeout": True} if timed_out else death(pid)
        reply["id"] = req.get("id")
        send(judge, reply)


def start_test_process(spec, codes):
    for delay in (0.05, 0.1, 0.2, 0.4, 0.8, 0):
        to_r, to_w = os.pipe()
        from_r, from_w = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            for fd in (to_r, to_w, from_r, from_w):
                os.close(fd)
            if not delay:
                return None
            time.sleep(delay)
            continue
        if pid == 0:
            try:
                os.close(3)  # not the judge's socket
                os.close(to_w)
                os.close(from_r)
                test_process((to_r, from_w), spec, codes)
            finally:
                os._exit(0)
        os.close(to_r)
        os.close(from_w)
        try:
            os.setpgid(pid, pid)
        except OSError:
            pass
        return pid, to_w, from_r
    return None


DEATHS = {}


def child_alive(pid):
    try:
        wpid, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return False
    if wpid:
        DEATHS[pid] = status
        return False
    return True


def death(pid):
    """The worker's answer about a test process that ended without answering."""
    status = DEATHS.pop(pid, None)
    if status is None:
        return {"died": "the test process ended", "kind": "Crash"}
    if os.WIFSIGNALED(status):
        sig = signal.Signals(os.WTERMSIG(status)).name
        hint = " (out of memory?)" if sig == "SIGKILL" else ""
        hint = " (stack overflow from deep recursion?)" if sig == "SIGSEGV" else hint
        return {"died": f"the test process died of {sig}{hint}", "kind": "Crash"}
    code = os.WEXITSTATUS(status)
    return {"died": f"the test process exited ({code}) early", "kind": "Exit"}


def kill(child):
    """Kill a test's process group until it is gone; returns None."""
    if child is None:
        return None
    pid, to_w, from_r = child
    for fd in (to_w, from_r):
        try:
            os.close(fd)
        except OSError:
            pass
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass
    try:
        _, status = os.waitpid(pid, 0)
        DEATHS.setdefault(pid, status)
    except ChildProcessError:
        pass
    # The group's other members (processes the test forked) count against the process limit
    # until PID 1 reaps them, so the next test could find it full: wait until they are gone.
    end = time.monotonic() + 3.0
    while time.monotonic() < end:
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            break
        time.sleep(0.01)
    return None


# -- the judge ------------------------------------------------------------------------------------
class Worker:
    """The judge's end of the socket: one request, one answer, under the judge's own clock."""

    def __init__(self, fd):
        self.fd = fd
        self.seq = 0
        self.gone = None  # why the worker stopped answering, once it did

    def ask(self, req, limit_s):
        """Send `req`; its answer (answers to earlier, abandoned requests are skipped)."""
        if self.gone:
            raise CodeFailed("Crash", self.gone)
        self.seq += 1
        req.update(t=max(limit_s, 0.001), id=self.seq)
        deadline = time.monotonic() + limit_s + KILL_AFTER_S + SLACK_S
        try:
            send(self.fd, req)
            reply = receive(self.fd, deadline)
            while isinstance(reply, dict) and reply.get("id") != self.seq:
                reply = receive(self.fd, deadline)
        except OSError:
            reply = EOF
        if reply is EOF:
            self.gone = "the code's process ended"
            raise CodeFailed("Crash", self.gone)
        if reply is None:
            self.gone = "the code's process stopped answering"
            raise TestTimeout()
        if not isinstance(reply, dict):
            raise CodeFailed("Crash", "the code's process sent an unreadable answer")
        return reply


class Proxy:
    """Stands for one of the code's functions inside the judge's test code."""

    def __init__(self, worker, name, clock):
        self.worker, self.name, self.clock = worker, name, clock

    def __call__(self, *args, **kwargs):
        req = {
            "op": "call",
            "name": self.name,
            "args": [encode(a, strict=True) for a in args],
            "kwargs": [[str(k), encode(v, strict=True)] for k, v in kwargs.items()],
        }
        reply = self.worker.ask(req, self.clock.left())
        self.clock.out = reply.get("out", self.clock.out)
        return answer(reply)


def answer(reply):
    if "value" in reply:
        try:
            return decode(reply["value"])
        except (ValueError, TypeError, RecursionError, AttributeError):
            raise CodeFailed("Crash", "the code's process sent an unreadable value") from None
    if reply.get("timeout"):
        raise TestTimeout()
    if "died" in reply:
        kind = reply.get("kind") if reply.get("kind") in ("Crash", "Exit") else "Crash"
        raise CodeFailed(kind, str(reply["died"])[:500])
    raised = reply.get("raised")
    if isinstance(raised, dict):
        raise raised_exception(raised)
    raise CodeFailed("Crash", "the code's process sent an unreadable answer")


def raised_exception(info):
    """An exception of the code's type when it is a builtin one, else `CandidateError`."""
    name = str(info.get("type", "Exception"))[:100]
    text = str(info.get("message", ""))[:600]
    cls = getattr(builtins, name, None)
    if not (isinstance(cls, type) and issubclass(cls, Exception)):  # SystemExit included
        cls = CandidateError
    try:
        exc = cls(text)
    except BaseException:
        exc = CandidateError(text)
    exc.wb_type = name
    exc.wb_frames = str(info.get("frames", ""))[:4000]
    return exc


class Clock:
    def __init__(self, limit):
        self.end = time.monotonic() + limit
        self.out = ""

    def left(self):
        return max(self.end - time.monotonic(), 0.0)


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


def judged_traceback(exc, cap):
    """The test's frames, then the code's (sent by the worker), then the exception line."""
    text = "Traceback (most recent call last):\n"
    text += trimmed_traceback(exc, ("<setup>", "<test>"), cap)
    text += getattr(exc, "wb_frames", "")
    kind = getattr(exc, "wb_type", type(exc).__name__)
    text += f"{kind}: {message(exc)}\n" if message(exc) else f"{kind}\n"
    return text if len(text) <= cap else text[: cap // 3] + "\n...\n" + text[-(2 * cap) // 3 :]


def run_test(test, spec, worker, context_code, limit):
    """Run one test in this process with the code behind proxies; its JSON-ready result."""
    clock = Clock(limit)
    res = {"phase": "load", "passed": False}
    text_cap = int(spec.get("text_cap", 2000))
    for name in ("setup", "code", "call"):
        text = test.get(name) or ""
        fname = "<setup>" if name == "setup" else "<test>"
        if text:
            linecache.cache[fname] = (len(text), None, text.splitlines(True), fname)
    signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, limit + 2 * SLACK_S)  # trusted code, but never stuck
    try:
        load = {"op": "load", "entry": spec["entry_point"], "spec": worker_spec(spec)}
        reply = worker.ask(load, clock.left())
        clock.out = reply.get("out", "")
        if not reply.get("ok"):
            answer(reply)
            raise CodeFailed("Crash", "the code's process did not load the code")
        ns = {"__name__": "judge", "__builtins__": builtins}
        exec(context_code, ns)
        proxy = Proxy(worker, spec["entry_point"], clock)
        ns[spec["entry_point"]] = ns["candidate"] = proxy
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
        res.update(error_type="Timeout", message=f"timed out after {limit:g} s")
    except BaseException as exc:
        signal.setitimer(signal.ITIMER_REAL, 0)
        if isinstance(exc, Mismatch):
            res["error_type"] = "AssertionError"
            res["got"], res["expected"] = short(exc.got), short(exc.expected)
        elif isinstance(exc, CodeFailed):
            res["error_type"] = exc.kind
        else:
            res["error_type"] = getattr(exc, "wb_type", type(exc).__name__)
        res["message"] = message(exc)
        if not isinstance(exc, NO_TRACEBACK) and getattr(exc, "wb_type", "") != "SystemExit":
            res["traceback"] = judged_traceback(exc, text_cap)
    res["stdout"] = clock.out[: int(spec.get("stdout_cap", 2000)) + 100]
    return res


def worker_spec(spec):
    return {k: spec[k] for k in ("memory_mb", "stdout_cap", "text_cap") if k in spec}


def judge(spec_path):
    with open(spec_path, encoding="utf-8") as f:
        spec = json.load(f)
    context = spec.get("context", "")
    linecache.cache["prompt.py"] = (len(context), None, context.splitlines(True), "prompt.py")
    worker = Worker(3)
    report = {"tests": [], "load_error": None}
    budget = float(spec["total_timeout_s"])
    start = time.monotonic()
    try:
        hello = receive(3, start + budget)
    except CodeFailed:
        hello = None
    codes_ok = isinstance(hello, dict) and hello.get("hello") is True
    if not codes_ok:
        report["load_error"] = {
            "error_type": "Crash",
            "message": "the code's process did not start",
        }
    elif isinstance(hello.get("syntax_error"), dict):
        err = hello["syntax_error"]
        report["load_error"] = {
            "error_type": str(err.get("type", "SyntaxError"))[:100],
            "message": str(err.get("message", ""))[:4000],
        }
    context_code = compile(context, "prompt.py", "exec")
    per_test = float(spec["test_timeout_s"])
    for test in spec["tests"] if report["load_error"] is None else ():
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
        t0 = time.monotonic()
        res = run_test(test, spec, worker, context_code, min(per_test, left))
        res["name"] = test["name"]
        res["duration_s"] = round(time.monotonic() - t0, 4)
        report["tests"].append(res)
    try:
        send(3, {"op": "quit"})
    except OSError:
        pass
    data = (json.dumps(report) + "\n").encode()
    while data:
        data = data[os.write(1, data) :]


def main():
    if sys.argv[1:2] == ["worker"]:
        worker()
    elif sys.argv[1:2] == ["judge"] and len(sys.argv) == 3:
        judge(sys.argv[2])
    else:
        sys.exit("usage: wb_runner.py judge SPEC | wb_runner.py worker")


if __name__ == "__main__":
    main()
