"""Hostile candidates on the real Docker sandbox: forged verdicts fail, and no evaluation can
hurt the next one (issue 13).

Each forgery is what an LLM under selection pressure could write: it must score as a failure on
public and hidden tests alike. Each isolation attack runs in a one-container pool, so the next
evaluation would land in the very container the attack dirtied: it must still be correct and on
time (the container is proven clean, or replaced).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.fixtures.needs import missing
from workbench.errors import NotSetUp, SandboxFailure
from workbench.sandbox import DockerSandbox, Limits
from workbench.tasks.code import CodeProblem, evaluate_code, problem_from_dict

pytestmark = pytest.mark.docker

CORRECT = "def inc(x):\n    return x + 1\n"


@pytest.fixture(scope="module")
def inc() -> CodeProblem:
    return problem_from_dict(
        {
            "task_id": "hostile/inc",
            "entry_point": "inc",
            "prompt": 'def inc(x):\n    """Return x + 1."""\n',
            "public_tests": [{"input": [1], "output": 2}, "assert inc(5) == 6"],
            "hidden_tests": [
                {"call": "inc(-3)", "expected": "-2"},
                "assert abs(inc(0.5) - 1.5) < 1e-9",
                "assert inc(10) == 11",
            ],
        }
    )


@pytest.fixture(scope="module")
def one() -> Iterator[DockerSandbox]:
    """A pool of ONE container: the next run reuses whatever the attack left, if anything."""
    try:
        sandbox = DockerSandbox(limits=Limits(timeout_s=20, memory_mb=512), pool_size=1, spare=0)
    except NotSetUp as exc:
        missing(f"{exc} (run: workbench sandbox build)")
    yield sandbox
    sandbox.close()


FORGERIES = {
    # the old harness's result pipe: a passing report written to every inherited descriptor
    "pipe-report": (
        "import json, os, struct\n"
        "def inc(x):\n"
        "    data = json.dumps({'passed': True}).encode()\n"
        "    for fd in range(3, 64):\n"
        "        try:\n"
        "            os.write(fd, struct.pack('!I', len(data)) + data)\n"
        "        except OSError:\n"
        "            pass\n"
        "    os._exit(0)\n"
    ),
    # a whole report printed on stdout, as the old runner's last line
    "stdout-report": (
        "import json, os, sys\n"
        "REPORT = json.dumps({'tests': [{'name': n, 'passed': True} for n in\n"
        "    ['public_0', 'public_1', 'hidden_0', 'hidden_1', 'hidden_2']], 'load_error': None})\n"
        "print(REPORT)\n"
        "def inc(x):\n"
        "    os.write(1, (REPORT + '\\n').encode())\n"
        "    os.write(2, (REPORT + '\\n').encode())\n"
        "    sys.exit(0)\n"
    ),
    # an object equal to everything, below every bound, its own absolute value
    "always-equal": (
        "class Yes:\n"
        "    __eq__ = __le__ = __lt__ = __ge__ = __gt__ = lambda self, other: True\n"
        "    __sub__ = __rsub__ = __abs__ = __add__ = lambda self, *a: self\n"
        "    __bool__ = lambda self: True\n"
        "    __hash__ = object.__hash__\n"
        "def inc(x):\n"
        "    return Yes()\n"
    ),
    # builtins the tests use, shadowed at module level (the old runner shared the namespace)
    "shadow-builtins": (
        "def abs(v):\n    return 0\ndef inc(x):\n    return 0\nAssertionError = None\n"
    ),
    # hidden tests read from disk: the spec next to the code, or the judge's dir
    "read-tests": (
        "import glob, json, re\n"
        "WANT = {}\n"
        "for path in glob.glob('/work/*.json') + glob.glob('/judge/*') + glob.glob('/tmp/*'):\n"
        "    try:\n"
        "        text = open(path).read()\n"
        "    except OSError:\n"
        "        continue\n"
        "    for a, b in re.findall(r'inc\\((-?[0-9.]+)\\)\\W+==\\W+(-?[0-9.]+)', text):\n"
        "        WANT[float(a)] = float(b)\n"
        "def inc(x):\n"
        "    return WANT.get(float(x), 0)\n"
    ),
    # kill the judge, or every other process, then claim success
    "kill-everyone": (
        "import os, signal\n"
        "def inc(x):\n"
        "    for pid in [int(p) for p in os.listdir('/proc') if p.isdigit()]:\n"
        "        if pid != os.getpid():\n"
        "            try:\n"
        "                os.kill(pid, signal.SIGKILL)\n"
        "            except OSError:\n"
        "                pass\n"
        "    return x + 1 if x == 1 else 0\n"
    ),
    # write into the judge's stdout through /proc
    "proc-fd": (
        "import os\n"
        "def inc(x):\n"
        "    for pid in [p for p in os.listdir('/proc') if p.isdigit()]:\n"
        "        for fd in ('1', '3'):\n"
        "            try:\n"
        "                with open(f'/proc/{pid}/fd/{fd}', 'w') as f:\n"
        '                    f.write(\'{"tests": [], "load_error": null}\\n\')\n'
        "            except OSError:\n"
        "                pass\n"
        "    return 0\n"
    ),
}


@pytest.mark.parametrize("code", list(FORGERIES.values()), ids=list(FORGERIES))
def test_a_forged_verdict_fails(inc: CodeProblem, one: DockerSandbox, code: str) -> None:
    public = evaluate_code(inc, code, one, "public", test_timeout_s=2.0)
    hidden = evaluate_code(inc, code, one, "hidden", test_timeout_s=2.0)
    assert public.total == 2 and hidden.total == 3
    assert hidden.passed == 0 and public.status != "ok", (public.tests, hidden.tests)
    # and the correct code still passes everything right after
    after = evaluate_code(inc, CORRECT, one, "all", test_timeout_s=2.0)
    assert after.status == "ok" and after.passed == 5, after.tests


def test_the_code_cannot_see_the_tests(inc: CodeProblem, one: DockerSandbox) -> None:
    probe = (
        "import os\n"
        "def inc(x):\n"
        "    seen = sorted(os.listdir('.'))\n"
        "    try:\n"
        "        os.listdir('/judge')\n"
        "        judge = 'readable'\n"
        "    except OSError as exc:\n"
        "        judge = type(exc).__name__\n"
        "    raise ValueError(f'{seen} {judge}')\n"
    )
    r = evaluate_code(inc, probe, one, "hidden", test_timeout_s=2.0)
    message = r.tests[0].message
    assert "PermissionError" in message and "wb_spec.json" not in message, message
    assert "inc(10)" not in r.stderr and "11" not in message


def _next_is_fine(sb: DockerSandbox, inc: CodeProblem) -> None:
    start = time.monotonic()
    plain = sb.run({"a.py": "print(1)"}, ["python3", "a.py"], Limits(timeout_s=10))
    assert plain.status == "ok" and plain.stdout == "1\n", (plain.stderr, plain.notes)
    assert plain.wall_s < 3.0
    r = evaluate_code(inc, CORRECT, sb, "all", test_timeout_s=2.0)
    assert r.status == "ok" and r.passed == 5, r.tests
    assert time.monotonic() - start < 30


NESTED = (
    "import os\n"
    "for top in ('/work', '/tmp', '/dev/shm'):\n"
    "    os.chdir(top)\n"
    "    for _ in range(1500):\n"
    "        os.mkdir('d')\n"
    "        os.chdir('d')\n"
    "    open('leftover', 'w').write('x')\n"
    "    os.chmod('.', 0)\n"
    "print('nested')\n"
)
ATTACKS = {
    "chmod-work": "import os\nopen('/work/x', 'w').close()\nos.chmod('/work', 0)\nprint('done')\n",
    "nested-dirs": NESTED,
    "sysv-ipc": (
        "import ctypes\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "libc.shmat.restype = ctypes.c_void_p\n"
        "size = 200 * 1024 * 1024\n"
        "sid = libc.shmget(0x5eed, ctypes.c_size_t(size), 0o1666)\n"
        "assert sid >= 0, ctypes.get_errno()\n"
        "addr = libc.shmat(sid, None, 0)\n"
        "ctypes.memset(addr, 1, size)\n"
        "assert libc.msgget(0x5eed, 0o1666) >= 0\n"
        "assert libc.semget(0x5eed, 1, 0o1666) >= 0\n"
        "print('ipc')\n"
    ),
    "posix-mqueue": (
        "import ctypes, ctypes.util\n"
        "rt = ctypes.CDLL(ctypes.util.find_library('rt') or None, use_errno=True)\n"
        "fd = rt.mq_open(b'/wbleft', 0o100 | 0o2, 0o666, None)\n"  # O_CREAT | O_RDWR
        "assert fd >= 0, ctypes.get_errno()\n"
        "print('mq')\n"
    ),
    "hard-links": (
        "import os\n"
        "open('/tmp/a', 'w').close()\n"
        "for i in range(300000):\n"
        "    os.link('/tmp/a', f'/tmp/l{i}')\n"
        "print('links')\n"
    ),
    "background-process": (
        "import os, time\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        "        while True:\n"
        "            open('/work/late', 'w').write('x')\n"
        "            time.sleep(0.01)\n"
        "    os._exit(0)\n"
        "print('bg')\n"
    ),
}


@pytest.mark.parametrize("code", list(ATTACKS.values()), ids=list(ATTACKS))
def test_an_attack_leaves_the_next_evaluation_correct_and_on_time(
    inc: CodeProblem, one: DockerSandbox, code: str
) -> None:
    attack = one.run({"attack.py": code}, ["python3", "attack.py"], Limits(timeout_s=20))
    assert attack.status == "ok", (attack.stdout, attack.stderr)
    _next_is_fine(one, inc)
    state = one.run(
        {
            "s.py": (
                "import os\n"
                "ipc = sum(len(open(p).read().splitlines()) - 1 for p in\n"
                "    ('/proc/sysvipc/shm', '/proc/sysvipc/msg', '/proc/sysvipc/sem'))\n"
                "mq = os.listdir('/dev/mqueue') if os.path.isdir('/dev/mqueue') else []\n"
                "dirs = sorted(os.listdir('/work')), os.listdir('/tmp'), os.listdir('/dev/shm')\n"
                "print(ipc, mq, *dirs)\n"
            )
        },
        ["python3", "s.py"],
    )
    assert state.stdout.strip() == "0 [] ['s.py'] [] []", state.stdout


SUPERVISOR_IDS = (
    "import os\n"
    "for d in os.listdir('/proc'):\n"
    "    try:\n"
    "        cmd = open(f'/proc/{d}/cmdline', 'rb').read().split(b'\\0')[:3]\n"
    "        st = dict(r.split(':', 1) for r in open(f'/proc/{d}/status').read().splitlines())\n"
    "    except (OSError, ValueError):\n"
    "        continue\n"
    "    if cmd == [b'python3', b'-I', b'-S']:\n"
    "        print(st['Uid'].split(), st['Gid'].split(), st['Groups'].split())\n"
)


def test_the_supervisor_is_root_again_whenever_code_runs(one: DockerSandbox) -> None:
    """The supervisor writes the input files and cleans up with its effective ids switched to
    the owner's (no fork): when any code runs, every one of its ids is 0 again, and it has no
    supplementary group that it could have carried into a switch."""
    for code in (ATTACKS["nested-dirs"], ATTACKS["sysv-ipc"]):  # clean-ups that switched ids
        assert one.run({"a.py": code}, ["python3", "a.py"], Limits(timeout_s=20)).status == "ok"
    res = one.run({"ids.py": SUPERVISOR_IDS}, ["python3", "ids.py"])
    assert res.stdout == "['0', '0', '0', '0'] ['0', '0', '0', '0'] []\n", (res.stdout, res.stderr)


def test_the_exec_path_cleans_up_out_of_the_next_runs_time(
    one: DockerSandbox,
) -> None:
    """Images without python3 get one `docker exec` per run and no supervisor: the clean-up
    after a run still happens out of the next run's time, in a container of a pool of one."""
    try:
        sb = DockerSandbox(limits=Limits(timeout_s=20), pool_size=1, spare=0, agent=False)
    except NotSetUp as exc:
        missing(f"{exc} (run: workbench sandbox build)")
    try:
        attack = sb.run({"attack.py": ATTACKS["hard-links"]}, ["python3", "attack.py"])
        assert attack.status == "ok", attack.stderr
        t = time.monotonic()
        nxt = sb.run(
            {"n.py": "import os\nprint(sorted(os.listdir('/work')), os.listdir('/tmp'))\n"},
            ["python3", "n.py"],
            Limits(timeout_s=3),
        )
        assert nxt.status == "ok", (nxt.status, nxt.stderr)
        assert nxt.stdout.strip() == "['n.py'] []"
        assert nxt.wall_s < 3.0  # its deadline never paid for the wipe
        assert time.monotonic() - t < 30
        assert sb.pool.created == 1  # cleaned and reused, not replaced
    finally:
        sb.close()


def test_a_leftover_segment_cannot_starve_the_next_run(one: DockerSandbox) -> None:
    """A 200 MB segment left behind made an innocent 350 MB run fail with oom."""
    one.run({"a.py": ATTACKS["sysv-ipc"]}, ["python3", "a.py"], Limits(timeout_s=20))
    big = one.run(
        {"b.py": "x = bytearray(350 * 1024 * 1024)\nprint(len(x) // 2**20)"},
        ["python3", "b.py"],
        Limits(timeout_s=20),
    )
    assert big.status == "ok" and big.stdout.strip() == "350", (big.status, big.stderr)


def test_a_container_that_cannot_take_a_run_is_replaced_and_the_run_retried(
    inc: CodeProblem, one: DockerSandbox
) -> None:
    """Sabotage the idle container from outside: the run lands on a fresh one, once."""
    one.run({"a.py": "print(1)"}, ["python3", "a.py"])
    time.sleep(0.5)  # the clean-up report has come; the container is idle again
    idle = next(iter(one.pool._all.values()))
    exec_id = one.client.api.exec_create(idle.id, ["chmod", "0", "/work"], user="1000:1000")
    one.client.api.exec_start(exec_id)
    created = one.pool.created
    r = evaluate_code(inc, CORRECT, one, "all", test_timeout_s=2.0)
    assert r.status == "ok" and r.passed == 5, (r.tests, r.stderr)
    assert one.pool.created > created  # a fresh container ran it


def test_two_broken_containers_raise_instead_of_scoring_the_code(
    inc: CodeProblem, one: DockerSandbox
) -> None:
    """An infrastructure failure is never the code's result (the loop records it uncached)."""
    huge = {"big.bin": b"\0" * (300 * 1024 * 1024)}  # more than the 256 MB /work can hold
    with pytest.raises(SandboxFailure, match="could not take the run"):
        one.run(huge, ["true"], Limits(timeout_s=20, memory_mb=1536))
