"""Docker-only behaviour: hardening, sweep, pool, reaper (hostile cases of research note §C)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator

import pytest

from workbench.sandbox import DockerSandbox, Limits, RunRequest
from workbench.sandbox.engine import LABEL_PID, LABEL_RUN, exec_stream, reap

pytestmark = pytest.mark.docker

COUNT_UID_1000 = (
    'n=0; for d in /proc/[0-9]*; do [ "${d#/proc/}" = "$$" ] && continue; '
    'while read -r k r rest; do if [ "$k" = Uid: ]; then [ "$r" = 1000 ] && n=$((n+1)); '
    'break; fi; done 2>/dev/null < "$d/status"; done; echo $n'
)


@pytest.fixture
def solo(docker_sandbox: DockerSandbox) -> Iterator[DockerSandbox]:
    """A private pool of one container, so a test can look at "the" container."""
    with DockerSandbox(
        docker_sandbox.image, pool_size=1, spare=0, client=docker_sandbox.client
    ) as sb:
        yield sb


def _only_container(sb: DockerSandbox) -> str:
    (cid,) = [
        c["Id"] for c in sb.client.api.containers(filters={"label": f"{LABEL_RUN}={sb.run_id}"})
    ]
    return cid


def _in_container(sb: DockerSandbox, cid: str, script: str, user: str = "1000:1000") -> str:
    out = bytearray()
    exec_stream(
        sb.client,
        cid,
        ["sh", "-c", script],
        deadline=time.monotonic() + 10,
        on_stdout=out.extend,
        on_stderr=out.extend,
        user=user,
    )
    return out.decode()


def test_hardening_flags(solo: DockerSandbox) -> None:
    assert solo.run({}, ["true"]).status == "ok"
    info = solo.client.api.inspect_container(_only_container(solo))
    host = info["HostConfig"]
    assert host["NetworkMode"] == "none" and host["ReadonlyRootfs"] is True
    assert host["CapDrop"] == ["ALL"] and "no-new-privileges" in host["SecurityOpt"]
    assert sorted(host["CapAdd"]) == ["KILL", "SETGID", "SETUID"]  # the supervisor's only caps
    assert host["Init"] is True and host["Memory"] == host["MemorySwap"] == 512 * 2**20
    assert host["PidsLimit"] == 128 and host["NanoCpus"] == 1_000_000_000
    assert "exec" in host["Tmpfs"]["/work"].split(",")
    assert info["Config"]["User"] == "0:0"  # the supervisor; the code runs as 1000
    assert info["Config"]["Labels"][LABEL_PID] == str(os.getpid())
    script = "id -u; grep -E 'Cap(Eff|Prm)' /proc/self/status; grep NoNewPrivs /proc/self/status"
    res = solo.run({}, ["sh", "-c", script + "; ulimit -f; ulimit -n"])
    assert res.stdout.split() == [
        "1000",
        "CapPrm:",
        "0000000000000000",
        "CapEff:",
        "0000000000000000",
        "NoNewPrivs:",
        "1",
        "131072",
        "256",
    ]


def test_03_sweep_leaves_no_code_process_and_keeper_alive(solo: DockerSandbox) -> None:
    code = "import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(1000)\n"
    assert solo.run({"e.py": code}, ["python3", "e.py"]).status == "ok"
    time.sleep(0.5)  # the background sweep runs after release
    cid = _only_container(solo)
    assert _in_container(solo, cid, COUNT_UID_1000).strip() == "0"
    keeper = _in_container(solo, cid, "cat /proc/[0-9]*/cmdline | tr '\\0' ' '")
    assert "python3 -I -S -c" in keeper  # the supervisor survived
    assert solo.pool.created == 1


def test_05_oom_vs_timeout_are_told_apart(solo: DockerSandbox) -> None:
    lim = Limits(memory_mb=256, timeout_s=2)
    hog = solo.run({}, ["python3", "-c", "b = b'x' * (400 << 20)"], lim)
    assert hog.status == "oom" and hog.exit_code == 137 and hog.wall_s < 2
    near = "b = b'x' * (150 << 20)\nwhile True: pass\n"
    spin = solo.run({"n.py": near}, ["python3", "n.py"], lim)
    assert spin.status == "timeout" and spin.exit_code is None  # killed by the supervisor
    assert spin.peak_memory_mb is not None and spin.peak_memory_mb > 150
    suicide = solo.run({}, ["sh", "-c", "kill -9 $$"], lim)
    assert suicide.status == "error" and suicide.exit_code == 137
    assert solo.run({}, ["true"], lim).status == "ok"


def test_06_tmpfs_full_and_cleared(solo: DockerSandbox) -> None:
    code = (
        "import errno\ntotal = 0\n"
        "try:\n"
        "    for i in range(100):\n"
        "        with open(f'f{i}', 'wb') as f: f.write(b'x' * (32 << 20))\n"
        "        total += 32\n"
        "except OSError as e: print(errno.errorcode[e.errno], total)\n"
    )
    res = solo.run({"fill.py": code}, ["python3", "fill.py"], Limits(memory_mb=1024))
    err, total = res.stdout.split()
    assert err == "ENOSPC" and int(total) <= 256
    tmp = solo.run({}, ["sh", "-c", "head -c 100000000 /dev/zero > /tmp/big; echo $?"])
    assert tmp.stdout.strip() != "0"
    left = solo.run({}, ["sh", "-c", "ls -A /work /tmp | grep -v : | grep . | wc -l"])
    assert left.stdout.strip() == "0"


def test_15_nothing_persists_between_runs(solo: DockerSandbox) -> None:
    write = "echo 1 > /tmp/flag; echo 1 > /work/flag; echo 1 > /dev/shm/flag; mkdir -m 0 /work/d"
    assert solo.run({}, ["sh", "-c", write]).status == "ok"
    check = solo.run({}, ["sh", "-c", "ls -A /tmp /work /dev/shm"])
    assert "flag" not in check.stdout and "d" not in check.stdout.split()
    assert solo.pool.created == 1  # same container, swept rather than replaced


def test_17_keeper_cannot_be_killed_from_inside(solo: DockerSandbox) -> None:
    code = (
        "import os\n"
        "for pid in [int(p) for p in os.listdir('/proc') if p.isdigit()]:\n"
        "    try:\n"
        "        if os.stat(f'/proc/{pid}').st_uid != 1000: os.kill(pid, 9); print('KILLED', pid)\n"
        "    except PermissionError: print('EPERM', pid)\n"
        "    except (FileNotFoundError, ProcessLookupError): pass\n"
        "os.kill(-1, 9)\n"
    )
    res = solo.run({"k.py": code}, ["python3", "k.py"])
    assert "KILLED" not in res.stdout and res.stdout.count("EPERM") >= 2
    assert solo.run({}, ["echo", "up"]).stdout == "up\n"
    assert solo.pool.created == 1


@pytest.mark.slow
def test_18_orchestrator_sigkill_then_reaper(docker_sandbox: DockerSandbox) -> None:
    script = textwrap.dedent(f"""
        import sys
        from workbench.sandbox import DockerSandbox
        sb = DockerSandbox({docker_sandbox.image!r}, pool_size=1)
        print("started", flush=True)
        sb.run({{}}, ["sleep", "60"])
    """)
    child = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=os.getcwd()
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "started"
        time.sleep(1.0)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    client = docker_sandbox.client

    def orphans() -> list[str]:
        found = client.api.containers(all=True, filters={"label": f"{LABEL_PID}={child.pid}"})
        return [c["Id"] for c in found]

    assert orphans(), "the killed orchestrator should have left its container behind"
    removed = reap(client)
    assert set(orphans()) == set() and removed
    assert docker_sandbox.run({}, ["true"]).status == "ok"  # ours were not reaped


@pytest.mark.slow
def test_19_concurrent_runs_no_crosstalk(docker_sandbox: DockerSandbox) -> None:
    n, pool = 16, docker_sandbox.pool
    script = "sleep 0.3; cat id; echo; ls /work | tr '\\n' ' '"
    reqs = [RunRequest({"id": f"run{i}", f"own{i}": ""}, ["sh", "-c", script]) for i in range(n)]
    peak = [0, 0]  # containers lent, alive
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], pool.lent)
            peak[1] = max(peak[1], pool.alive)
            time.sleep(0.01)

    single = min(docker_sandbox.run(r.files, r.command).wall_s for r in reqs[:2])
    watcher = threading.Thread(target=watch)
    watcher.start()
    start = time.monotonic()
    try:
        results = docker_sandbox.run_many(reqs)
    finally:
        stop.set()
        watcher.join()
    wall = time.monotonic() - start
    for i, res in enumerate(results):
        assert res.stdout.split() == [f"run{i}", "id", f"own{i}"], res.stdout
    assert peak[0] <= pool.size and peak[1] <= pool.capacity
    assert wall < 0.75 * n * single  # ran in parallel over the pool (serial would be n*single)


def test_oneshot_mode_removes_its_container(docker_sandbox: DockerSandbox) -> None:
    with DockerSandbox(docker_sandbox.image, pooled=False, client=docker_sandbox.client) as sb:
        assert sb.run({"a.py": "print(2)"}, ["python3", "a.py"]).stdout == "2\n"
        assert sb.pool.created == 1
        assert (
            sb.client.api.containers(all=True, filters={"label": f"{LABEL_RUN}={sb.run_id}"}) == []
        )


def test_close_removes_pool(docker_sandbox: DockerSandbox) -> None:
    sb = DockerSandbox(docker_sandbox.image, pool_size=2, client=docker_sandbox.client)
    sb.run({}, ["true"])
    sb.close()
    assert sb.client.api.containers(all=True, filters={"label": f"{LABEL_RUN}={sb.run_id}"}) == []


def test_cpu_and_memory_are_measured(docker_sandbox: DockerSandbox) -> None:
    res = docker_sandbox.run({}, ["python3", "-c", "b = bytearray(64 << 20); sum(range(10**7))"])
    assert res.cpu_s is not None and res.cpu_s > 0.1
    assert res.peak_memory_mb is not None and res.peak_memory_mb >= 64


def test_missing_image_names_the_build_command(docker_sandbox: DockerSandbox) -> None:
    from workbench.errors import NotSetUp

    with pytest.raises(NotSetUp, match="workbench sandbox build"):
        DockerSandbox("workbench-sandbox:does-not-exist", client=docker_sandbox.client)


def test_supervisor_death_is_survived(solo: DockerSandbox) -> None:
    assert solo.run({}, ["true"]).status == "ok"
    cid = _only_container(solo)
    kill = (
        "for d in /proc/[0-9]*; do "
        # anchored: this script's own command line also holds the pattern (a flaky self-kill)
        'if tr "\\0" " " < $d/cmdline | grep -q "^python3 -I -S -c"; then kill -9 ${d#/proc/}; fi; '
        "done"
    )
    _in_container(solo, cid, kill, user="0:0")
    res = solo.run({"a.py": "print('again')"}, ["python3", "a.py"])
    assert res.status == "ok" and res.stdout == "again\n"  # rerun in a fresh container
    assert solo.pool.created == 2


def test_a_supervisor_whose_clean_up_failed_never_runs_again(solo: DockerSandbox) -> None:
    """The host replaces a container whose clean-up report says "not clean"; should a host ever
    send it a run anyway, the supervisor refuses it instead of running in a dirty container."""
    assert solo.run({}, ["true"]).status == "ok"
    time.sleep(0.3)  # the clean-up report has come; the container is idle again
    _in_container(solo, _only_container(solo), "touch /tmp/planted", user="0:0")  # uid 1000 can't
    (slot,) = solo.pool._all.values()
    ch = slot.channel
    assert ch is not None
    out = bytearray()

    def send(argv: list[str]) -> dict:
        reply = ch.request(
            argv,
            b"",
            timeout_s=5,
            read_cap=1 << 16,
            fetch=[],
            fetch_max_bytes=0,
            fetch_max_members=0,
            deadline=time.monotonic() + 10,
            on_stdout=out.extend,
            on_stderr=out.extend,
        )
        assert reply.result is not None
        return reply.result

    assert send(["true"])["exit_code"] == 0
    report = ch.wait_clean(10)
    assert not report["clean"] and "planted" in report["why"], report
    ch.dirty = False  # a host that ignored the report
    res = send(["sh", "-c", "echo ran"])
    assert "not clean" in res.get("error", "") and b"ran" not in out, (res, out)
    assert not ch.wait_clean(10)["clean"]


def test_user_image_without_python_uses_exec_path(docker_sandbox: DockerSandbox) -> None:
    from workbench.sandbox.image.build import BASE_REPO, _base_hash

    base = f"{BASE_REPO}:{_base_hash()}"  # the bare debootstrap rootfs: no python3
    try:
        docker_sandbox.client.images.get(base)
    except Exception:
        from tests.fixtures.needs import missing

        missing(f"{base} not present (run: workbench sandbox build)")

    def probes() -> list[str]:
        return [
            c.id
            for c in docker_sandbox.client.containers.list(all=True)
            if c.image.tags == [base] and c.attrs["Config"]["Cmd"] == ["python3", "-c", "pass"]
        ]

    before = probes()
    with DockerSandbox(base, pool_size=1, client=docker_sandbox.client) as sb:
        assert sb.pool.agent is False
        assert probes() == before  # the python3 probe that could not start was removed
        res = sb.run({"x.txt": "data"}, ["sh", "-c", "cat x.txt; echo; id -u"], fetch=["x.txt"])
        assert (res.status, res.stdout.split(), res.files) == (
            "ok",
            ["data", "1000"],
            {"x.txt": b"data"},
        )
        assert sb.run({}, ["sleep", "5"], Limits(timeout_s=1)).status == "timeout"


def test_recycled_after_max_runs_and_per_shape(docker_sandbox: DockerSandbox) -> None:
    with DockerSandbox(
        docker_sandbox.image, pool_size=1, spare=0, max_runs=2, client=docker_sandbox.client
    ) as sb:
        for _ in range(3):
            assert sb.run({}, ["true"]).status == "ok"
        assert sb.pool.created == 2  # the first container was replaced after 2 runs
        res = sb.run(
            {},
            ["sh", "-c", "cat /sys/fs/cgroup/memory/memory.limit_in_bytes"],
            Limits(memory_mb=256),
        )
        assert res.stdout.strip() == str(256 * 2**20)  # a container of the new shape
        assert sb.pool.alive <= 1
