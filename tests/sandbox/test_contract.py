"""The sandbox contract, run against every backend (`any_sandbox`: local and docker).

Numbers in the test names refer to the hostile cases of research note §C.
"""

from __future__ import annotations

import time

import pytest

from workbench.errors import ConfigError
from workbench.sandbox import Judge, Limits, RunRequest, Sandbox

SHORT = Limits(timeout_s=2)

MPI_SRC = r"""
#include <mpi.h>
#include <stdio.h>
int main(int argc, char **argv) {
    int rank, size, sum;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Allreduce(&rank, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0) printf("size=%d sum=%d\n", size, sum);
    MPI_Finalize();
    return 0;
}
"""


def test_runs_python_and_reports(any_sandbox: Sandbox) -> None:
    res = any_sandbox.run({"a.py": "import sys; print(6*7); sys.exit(3)"}, ["python3", "a.py"])
    assert (res.status, res.exit_code, res.stdout) == ("error", 3, "42\n")
    assert res.wall_s > 0 and not res.truncated
    assert res.isolated is any_sandbox.isolated
    ok = any_sandbox.run({}, ["sh", "-c", "echo out; echo err >&2"])
    assert (ok.status, ok.exit_code, ok.stdout, ok.stderr) == ("ok", 0, "out\n", "err\n")


def test_files_in_nested_and_fetched_back(any_sandbox: Sandbox) -> None:
    files = {
        "pkg/mod.py": "X = 5\n",
        "main.py": "from pkg.mod import X\nprint(X)",
        "b.bin": b"\0\1",
    }
    res = any_sandbox.run(
        files,
        ["sh", "-c", "python3 main.py && mkdir -p out/sub && cp b.bin out/sub/c && echo hi > o"],
        fetch=["o", "out", "missing.txt"],
    )
    assert res.status == "ok", res.stderr
    assert res.stdout == "5\n"
    assert res.files == {"o": b"hi\n", "out/sub/c": b"\0\1"}
    assert any("missing.txt" in n for n in res.notes)


def test_01_infinite_loop_times_out(any_sandbox: Sandbox) -> None:
    res = any_sandbox.run({}, ["python3", "-c", "while True: pass"], SHORT)
    assert res.status == "timeout"
    assert 2 <= res.wall_s <= 2 + 2.5


@pytest.mark.slow
def test_02_sigterm_ignored_still_killed(any_sandbox: Sandbox) -> None:
    res = any_sandbox.run({}, ["sh", "-c", "trap '' TERM; while :; do :; done"], SHORT)
    assert res.status == "timeout"
    assert res.wall_s <= 2 + 2 + 2.5


def test_03_setsid_double_fork_escape_is_killed(any_sandbox: Sandbox) -> None:
    code = (
        "import os, time\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        "        open('alive', 'w').close(); time.sleep(1000)\n"
        "    os._exit(0)\n"
        "time.sleep(0.3); print('parent done')\n"
    )
    res = any_sandbox.run({"e.py": code}, ["python3", "e.py"], Limits(timeout_s=5))
    assert res.stdout == "parent done\n"
    assert res.wall_s < 5  # the escape did not hold the run open until the deadline


@pytest.mark.slow
def test_04_fork_bomb_is_capped(any_sandbox: Sandbox) -> None:
    code = (
        "import os, sys, time\n"
        "try:\n"
        "    while True: os.fork()\n"
        "except BlockingIOError:\n"
        "    sys.stderr.write('EAGAIN\\n'); sys.stderr.flush(); time.sleep(100)\n"
    )
    res = any_sandbox.run({"f.py": code}, ["python3", "f.py"], Limits(timeout_s=3, pids=64))
    assert res.status == "timeout"
    assert "EAGAIN" in res.stderr
    after = any_sandbox.run({}, ["python3", "-c", "print('still fine')"])
    assert after.stdout == "still fine\n"


def test_05_memory_hog_is_oom_and_sandbox_survives(any_sandbox: Sandbox) -> None:
    lim = Limits(memory_mb=256, timeout_s=10)
    one_block = any_sandbox.run({}, ["python3", "-c", "b = b'x' * (512 << 20)"], lim)
    assert one_block.status == "oom"
    step = "l = []\nwhile True: l.append(bytearray(8 << 20))\n"
    stepwise = any_sandbox.run({"s.py": step}, ["python3", "s.py"], lim)
    assert stepwise.status == "oom"
    assert stepwise.wall_s < 10
    again = any_sandbox.run({}, ["python3", "-c", "print(1)"], lim)
    assert again.status == "ok"


def test_06_big_file_hits_file_size_limit(any_sandbox: Sandbox) -> None:
    code = (
        "import errno\n"
        "try:\n"
        "    with open('big', 'wb') as f:\n"
        "        for _ in range(1024): f.write(b'x' * (1 << 20))\n"
        "except OSError as e: print(errno.errorcode[e.errno])\n"
    )
    res = any_sandbox.run({"w.py": code}, ["python3", "w.py"], Limits(file_size_mb=16))
    assert res.stdout.strip() in ("EFBIG", "ENOSPC"), res.stdout + res.stderr


def test_07_system_dirs_not_writable(any_sandbox: Sandbox) -> None:
    code = (
        "import errno\n"
        "for p in ['/etc/x', '/usr/lib/x', '/root/x']:\n"
        "    try: open(p, 'w'); print(p, 'WRITTEN')\n"
        "    except OSError as e: print(p, errno.errorcode[e.errno])\n"
    )
    res = any_sandbox.run({"w.py": code}, ["python3", "w.py"])
    assert "WRITTEN" not in res.stdout
    assert all(e in ("EROFS", "EACCES") for e in res.stdout.split()[1::2]), res.stdout


def test_08_no_network(any_sandbox: Sandbox) -> None:
    code = (
        "import os, socket\n"
        "for host in [('1.1.1.1', 53), ('172.17.0.1', 80), ('host.docker.internal', 80)]:\n"
        "    try: socket.create_connection(host, timeout=2); print('CONNECTED', host)\n"
        "    except OSError as e: print('blocked', type(e).__name__)\n"
        "print(sorted(i for i in os.listdir('/sys/class/net') if i != 'lo') or 'lo-only')\n"
    )
    res = any_sandbox.run({"n.py": code}, ["python3", "n.py"])
    assert "CONNECTED" not in res.stdout and res.stdout.count("blocked") == 3, res.stdout
    if any_sandbox.isolated:
        assert "lo-only" in res.stdout


def test_09_endless_stdout_is_capped_and_killed(any_sandbox: Sandbox) -> None:
    lim = Limits(output_bytes=100_000)
    res = any_sandbox.run({}, ["yes"], lim)
    assert res.status == "output_limit" and res.truncated
    assert len(res.stdout) <= 100_000 + 100 and res.stdout.startswith("y\ny\n")
    line = any_sandbox.run({}, ["python3", "-c", "print('x' * 10_000_000)"], lim)
    assert line.status == "output_limit" and len(line.stdout) <= 100_100
    binary = any_sandbox.run({}, ["head", "-c", "5000", "/dev/urandom"], lim)
    assert binary.status == "ok" and "\ufffd" in binary.stdout


def test_09b_output_between_cap_and_kill_keeps_head_and_tail(any_sandbox: Sandbox) -> None:
    code = "print('HEAD'); print('m' * 150_000); print('TAIL')"
    res = any_sandbox.run({}, ["python3", "-c", code], Limits(output_bytes=100_000))
    assert res.status == "ok" and res.truncated
    assert res.stdout.startswith("HEAD") and res.stdout.rstrip().endswith("TAIL")
    assert "bytes truncated" in res.stdout


def test_10_stderr_flood_no_deadlock(any_sandbox: Sandbox) -> None:
    code = "import sys\nfor _ in range(100_000): sys.stderr.write('e' * 1000 + '\\n')\n"
    start = time.monotonic()
    res = any_sandbox.run({"f.py": code}, ["python3", "f.py"], Limits(output_bytes=200_000))
    assert res.status == "output_limit" and res.stdout == "" and len(res.stderr) <= 200_100
    assert time.monotonic() - start < 8


def test_11_no_privilege(any_sandbox: Sandbox) -> None:
    code = (
        "import os\n"
        "for name, f in [('setuid', lambda: os.setuid(0)),\n"
        "                ('environ1', lambda: open('/proc/1/environ', 'rb').read()),\n"
        "                ('dockersock', lambda: open('/var/run/docker.sock', 'rb'))]:\n"
        "    try: f(); print(name, 'ALLOWED')\n"
        "    except OSError as e: print(name, type(e).__name__)\n"
        "print('uid', os.getuid())\n"
    )
    res = any_sandbox.run({"p.py": code}, ["python3", "p.py"])
    assert "ALLOWED" not in res.stdout, res.stdout
    assert "uid 0" not in res.stdout
    sudo = any_sandbox.run({}, ["sudo", "id"])
    assert sudo.status == "error"


def test_12_host_env_absent(any_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-host-secret-123")
    monkeypatch.setenv("WORKBENCH_TEST_SECRET", "s3cr3t")
    res = any_sandbox.run({}, ["sh", "-c", "env; cat /proc/self/environ"])
    assert res.status == "ok"
    assert "sk-host-secret-123" not in res.stdout and "s3cr3t" not in res.stdout
    assert "OPENAI_API_KEY" not in res.stdout


def test_13_links_in_returned_files_are_refused(any_sandbox: Sandbox) -> None:
    cmd = "ln -s /etc/passwd out.txt; mkdir d; ln -s ../../../etc d/up; ln real hard 2>/dev/null"
    res = any_sandbox.run(
        {"real": "r"}, ["sh", "-c", cmd + "; echo ok > d/fine"], fetch=["out.txt", "d"]
    )
    assert res.files == {"d/fine": b"ok\n"}
    assert any("symlink 'out.txt'" in n for n in res.notes)
    assert any("symlink 'd/up'" in n for n in res.notes)


@pytest.mark.slow
def test_14_tar_bomb_capped(any_sandbox: Sandbox) -> None:
    code = (
        "import os\nos.mkdir('many')\nfor i in range(50_000):\n    open(f'many/{i}', 'w').close()\n"
    )
    res = any_sandbox.run({"m.py": code}, ["python3", "m.py"], Limits(timeout_s=30), fetch=["many"])
    assert res.status == "ok", res.stderr
    assert 0 < len(res.files) <= 2_000
    assert any("capped" in n for n in res.notes)


@pytest.mark.slow
def test_16_mpi_compile_and_run_4_ranks(any_sandbox: Sandbox) -> None:
    res = any_sandbox.run(
        {"m.c": MPI_SRC},
        ["sh", "-c", "mpicc -O2 -o m m.c && mpirun -np 4 ./m"],
        Limits(timeout_s=60, memory_mb=1024),
    )
    assert res.status == "ok", res.stderr
    assert "size=4 sum=6" in res.stdout


def test_pytest_file_runs(any_sandbox: Sandbox) -> None:
    probe = any_sandbox.run({}, ["python3", "-m", "pytest", "--version"])
    if probe.status != "ok":
        from tests.fixtures.needs import missing

        missing(f"python3 in this sandbox has no pytest ({probe.stderr.strip()[:200]})")
    tests = "def test_ok():\n    assert 1 + 1 == 2\n\ndef test_bad():\n    assert 1 == 2\n"
    res = any_sandbox.run(
        {"test_x.py": tests}, ["python3", "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    )
    assert res.status == "error" and res.exit_code == 1
    assert "1 failed, 1 passed" in res.stdout


@pytest.mark.slow
def test_20_urandom_and_sleep_killed_at_wall_limit(any_sandbox: Sandbox) -> None:
    for cmd in (["sh", "-c", "cat /dev/urandom > /dev/null"], ["sleep", "30"]):
        res = any_sandbox.run({}, cmd, SHORT)
        assert res.status == "timeout"
        assert res.wall_s <= 2 + 2 + 2.5


def test_run_many_in_order(any_sandbox: Sandbox) -> None:
    reqs = [RunRequest({"n": str(i)}, ["sh", "-c", "cat n"]) for i in range(6)]
    out = any_sandbox.run_many(reqs)
    assert [r.stdout for r in out] == [str(i) for i in range(6)]


def test_bad_paths_rejected(any_sandbox: Sandbox) -> None:
    from workbench.errors import ConfigError

    for bad in ("/etc/x", "../x", "a/../../x"):
        with pytest.raises(ConfigError):
            any_sandbox.run({bad: "x"}, ["true"])
        with pytest.raises(ConfigError):
            any_sandbox.run({}, ["true"], fetch=[bad])


JUDGE = (
    "import os, socket\n"
    "s = socket.socket(fileno=3)\n"
    "s.sendall(b'21')\n"
    "got = s.recv(100)\n"
    "print('verdict', got.decode(), sorted(os.listdir('.')))\n"
)
CODE = (
    "import os, socket, sys\n"
    "s = socket.socket(fileno=3)\n"
    "n = int(s.recv(10))\n"
    "print('verdict: forged')\n"
    "sys.stderr.write('verdict: forged\\n')\n"
    "s.sendall(str(2 * n).encode())\n"
)


def test_14_a_judge_speaks_for_the_run(any_sandbox: Sandbox) -> None:
    judge = Judge(files={"judge.py": JUDGE, "secret.json": "{}"}, command=["python3", "judge.py"])
    if any_sandbox.backend == "docker" and not any_sandbox.pool.agent:  # type: ignore[attr-defined]
        with pytest.raises(ConfigError, match="cannot run a judge"):  # the exec path
            any_sandbox.run({"code.py": CODE}, ["python3", "code.py"], judge=judge)
        return
    r = any_sandbox.run(
        {"code.py": CODE}, ["python3", "code.py"], Limits(timeout_s=10), judge=judge
    )
    assert r.status == "ok", (r.stderr, r.judge_stderr)
    assert r.verdict == b"verdict 42 ['judge.py', 'secret.json']\n"  # the judge's stdout only
    assert "forged" in r.stdout and "forged" in r.stderr  # the code's output stays the code's


def test_15_without_a_judge_there_is_no_verdict(any_sandbox: Sandbox) -> None:
    r = any_sandbox.run({"a.py": "print('verdict: PASS')"}, ["python3", "a.py"])
    assert r.status == "ok" and r.verdict is None
