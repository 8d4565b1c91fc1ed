"""Unit tests of the sandbox parts that need no engine: tar I/O, caps, statuses, config, doubles."""

from __future__ import annotations

import io
import math
import tarfile

import pytest

from workbench.errors import ConfigError, NotSetUp
from workbench.sandbox import (
    DockerSandbox,
    ExecResult,
    FunctionSandbox,
    Limits,
    LocalSandbox,
    RunRequest,
    SandboxConfig,
    default_image,
    open_sandbox,
)
from workbench.sandbox.base import OutputCapture, check_relpath, classify
from workbench.sandbox.image import dockerfile_text, recipe_hash
from workbench.sandbox.tario import pack, safe_extract


def _tar(*members: tuple[tarfile.TarInfo, bytes | None]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def _info(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    return info


def test_pack_roundtrip_and_modes() -> None:
    data = pack({"a/b.txt": "hi", "run.sh": "#!/bin/sh\necho", "x.bin": b"\0"})
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        modes = {m.name: m.mode for m in tar.getmembers()}
    assert modes == {"a/b.txt": 0o644, "run.sh": 0o755, "x.bin": 0o644}
    assert len(data) % 10240 == 0  # whole tar records: `tar -x` reads no further
    assert safe_extract(data).files == {
        "a/b.txt": b"hi",
        "run.sh": b"#!/bin/sh\necho",
        "x.bin": b"\0",
    }


@pytest.mark.parametrize("bad", ["/abs", "../up", "a/../../up", "", "nul\x00"])
def test_pack_refuses_escaping_paths(bad: str) -> None:
    with pytest.raises(ConfigError):
        pack({bad: "x"})


def test_safe_extract_refuses_links_devices_and_escapes() -> None:
    data = _tar(
        (_info("ok.txt"), b"fine"),
        (_info("sym", tarfile.SYMTYPE, "/etc/passwd"), None),
        (_info("hard", tarfile.LNKTYPE, "ok.txt"), None),
        (_info("dev", tarfile.CHRTYPE), None),
        (_info("fifo", tarfile.FIFOTYPE), None),
        (_info("/etc/abs"), b"x"),
        (_info("../../up"), b"x"),
        (_info("d/./../d2/f"), b"y"),
    )
    got = safe_extract(data)
    assert got.files == {"ok.txt": b"fine", "d2/f": b"y"}
    kinds = " ".join(got.notes)
    for word in ("symlink 'sym'", "hard link 'hard'", "device 'dev'", "fifo 'fifo'"):
        assert word in kinds
    assert "'/etc/abs'" in kinds and "'../../up'" in kinds


def test_safe_extract_caps_bytes_and_members() -> None:
    many = _tar(*[(_info(f"f{i}"), b"x") for i in range(50)])
    got = safe_extract(many, max_members=10)
    assert len(got.files) == 10 and got.capped
    big = _tar((_info("a"), b"x" * 600), (_info("b"), b"x" * 600))
    got = safe_extract(big, max_bytes=1000)
    assert list(got.files) == ["a"] and got.capped
    cut = safe_extract(many[:1800])  # inside the second file's data
    assert cut.notes and "cut short" in cut.notes[-1]


def test_output_capture_head_tail() -> None:
    cap = OutputCapture(100, tail=20)
    cap.add(b"H" * 50)
    assert cap.text() == "H" * 50 and not cap.truncated
    cap.add(b"m" * 1000 + b"T" * 20)
    text = cap.text()
    assert text.startswith("H" * 50 + "m" * 30) and text.endswith("T" * 20)
    assert cap.truncated and "[970 bytes truncated]" in text
    bad = OutputCapture(10)
    bad.add(b"\xff\xfe ok")
    assert "\ufffd" in bad.text()


@pytest.mark.parametrize(
    ("code", "wall", "kw", "status"),
    [
        (0, 0.1, {}, "ok"),
        (1, 0.1, {}, "error"),
        (124, 2.05, {}, "timeout"),
        (124, 0.5, {}, "error"),  # the program itself exited 124
        (137, 4.1, {"oom": False}, "timeout"),  # KILL after the grace period
        (137, 0.4, {"oom": True}, "oom"),
        (137, 0.4, {"oom": False}, "error"),  # killed itself
        (137, 0.4, {}, "oom"),  # no cgroup evidence: SIGKILL before the deadline
        (None, 12.0, {"deadline_hit": True}, "timeout"),
        (None, 0.3, {"capped": True}, "output_limit"),
        (137, 2.5, {"oom": True}, "oom"),
    ],
)
def test_classify(code: int | None, wall: float, kw: dict, status: str) -> None:
    assert classify(code, wall, 2.0, **kw) == status


def test_limits_validation_and_replace() -> None:
    assert Limits().replace(timeout_s=3).timeout_s == 3
    with pytest.raises(ConfigError, match="nope"):
        Limits().replace(nope=1)
    with pytest.raises(ConfigError, match="memory_mb"):
        Limits(memory_mb=0)


@pytest.mark.parametrize(
    ("field", "value", "why"),
    [
        ("timeout_s", math.inf, "finite positive"),
        ("timeout_s", math.nan, "finite positive"),
        ("cpus", -1.0, "finite positive"),
        ("pids", True, "finite positive"),
        ("pids", 0.5, "whole number"),
        ("memory_mb", 256.5, "whole number"),
        ("output_bytes", "1e6", "finite positive"),
    ],
)
def test_limits_built_in_python_refuse_what_the_task_file_refuses(
    field: str, value: object, why: str
) -> None:
    with pytest.raises(ConfigError, match=rf"{field}=.*{why}"):
        Limits(**{field: value})  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=field):
        Limits().replace(**{field: value})
    assert Limits(memory_mb=256.0).memory_mb == 256  # a whole float is a count


def test_exec_result_json_roundtrip() -> None:
    res = FunctionSandbox.result(stdout="x", files={"o": b"\0\1"})
    data = res.to_dict()
    assert data["files"] == {"o": "AAE="}
    assert ExecResult.from_dict(data) == res
    assert "files" not in res.to_dict(files=False)


def test_check_relpath_normalises() -> None:
    assert check_relpath("a/./b//c") == "a/b/c"
    with pytest.raises(ConfigError, match="stay inside /work"):
        check_relpath("a/../../b")


def test_function_sandbox_records_and_answers() -> None:
    def fn(req: RunRequest) -> ExecResult | str:
        if "boom" in req.command:
            return FunctionSandbox.result("timeout", stderr="slow")
        return f"ran {' '.join(req.command)} with {sorted(req.files)}"

    sb = FunctionSandbox(fn, image_id="fake:1")
    assert sb.run({"a.py": "x"}, ["python3", "a.py"]).stdout == "ran python3 a.py with ['a.py']"
    res = sb.run_many([RunRequest({}, ["boom"]), RunRequest({}, ["ok"])])
    assert [r.status for r in res] == ["timeout", "ok"]
    assert len(sb.calls) == 3 and sb.image_id == "fake:1" and res[0].exit_code is None
    with pytest.raises(ConfigError):
        sb.run({"../x": ""}, ["true"])


def test_config_parse_and_limits() -> None:
    cfg = SandboxConfig.parse("docker:my/image:tag")
    assert (cfg.backend, cfg.image) == ("docker", "my/image:tag")
    assert (
        SandboxConfig(limits={"timeout_s": 30, "memory_mb": 1024}).make_limits().memory_mb == 1024
    )
    with pytest.raises(ConfigError):
        SandboxConfig.parse("podman")
    with pytest.raises(ConfigError):
        SandboxConfig.parse("local:img")
    with pytest.raises(ValueError, match=r"limits\.bogus"):
        SandboxConfig(limits={"bogus": 1})
    with pytest.raises(ValueError):
        SandboxConfig(backend="docker", extra_field=1)  # type: ignore[call-arg]


def test_open_sandbox_resolves() -> None:
    fake = FunctionSandbox(lambda r: "")
    assert open_sandbox(fake) is fake
    with open_sandbox("local") as sb:
        assert isinstance(sb, LocalSandbox) and sb.image_id == "local" and not sb.isolated
    # Docker is switched off outside `docker` tests: auto and docker both refuse; only a
    # named `local` runs code on the host (tests/sandbox/test_config.py has the message).
    for spec in ("auto", SandboxConfig(), None):
        with pytest.raises(NotSetUp, match="backend: local"):
            open_sandbox(spec)
    with pytest.raises(NotSetUp, match="switched off"):
        DockerSandbox()
    with open_sandbox(SandboxConfig(backend="local", limits={"timeout_s": 1})) as sb:
        assert sb.run({}, ["sleep", "5"]).status == "timeout"


def test_image_recipe_tag_is_content_hash() -> None:
    assert default_image() == f"workbench-sandbox:{recipe_hash()}"
    assert len(recipe_hash()) == 12
    text = dockerfile_text("base:1")
    assert text.splitlines()[2] == "FROM base:1"
    for pkg in ("python3", "python3-pytest", "gcc", "g++", "make", "mpich", "libmpich-dev"):
        assert f" {pkg} " in text or f" {pkg}\n" in text


class _FakeAPI:
    def __init__(self, containers: list[dict] | None = None, fail: Exception | None = None):
        self._containers = containers or []
        self.fail = fail
        self.removed: list[str] = []

    def containers(self, **_: object) -> list[dict]:
        return self._containers

    def remove_container(self, cid: str, **_: object) -> None:
        self.removed.append(cid)

    def exec_create(self, *_: object, **__: object) -> dict:
        assert self.fail is not None
        raise self.fail


class _FakeClient:
    def __init__(self, api: _FakeAPI) -> None:
        self.api = api

    def ping(self) -> bool:
        raise ConnectionError("gone")


def test_reaper_picks_expired_dead_and_own() -> None:
    import os
    import socket
    import time

    from workbench.sandbox.engine import LABEL_EXPIRES, LABEL_HOST, LABEL_PID, LABEL_RUN, reap

    host, later = socket.gethostname(), str(int(time.time()) + 3600)

    def c(cid: str, pid: int, expires: str, on: str = host) -> dict:
        labels = {LABEL_RUN: "r", LABEL_PID: str(pid), LABEL_EXPIRES: expires, LABEL_HOST: on}
        return {"Id": cid, "Labels": labels}

    dead = 2**22 + 12345  # above pid_max: never alive
    hour_ago = str(int(time.time()) - 3600)
    found = [
        c("expired", os.getpid(), "1"),
        c("dead-owner", dead, later),
        c("alive-mine", os.getpid(), later),
        c("other-host-dead", dead, later, on="elsewhere"),
        c("alive-just-expired", os.getpid(), hour_ago),  # a live run's: kept
        c("other-host-expired", dead, hour_ago, on="elsewhere"),
    ]
    api = _FakeAPI(found)
    assert sorted(reap(_FakeClient(api))) == ["dead-owner", "expired", "other-host-expired"]  # type: ignore[arg-type]
    api2 = _FakeAPI(found)
    mine = ["expired", "alive-mine", "alive-just-expired"]
    assert reap(_FakeClient(api2), owner_pid=os.getpid()) == mine  # type: ignore[arg-type]


def test_engine_errors_become_engine_unavailable() -> None:
    import requests

    from workbench.errors import EngineUnavailable
    from workbench.sandbox.engine import exec_stream

    client = _FakeClient(_FakeAPI(fail=requests.exceptions.ConnectionError("daemon gone")))
    with pytest.raises(EngineUnavailable, match="daemon gone"):
        exec_stream(
            client,  # type: ignore[arg-type]
            "cid",
            ["true"],
            deadline=1e12,
            on_stdout=lambda b: None,
            on_stderr=lambda b: None,
        )


def test_docstring_examples_run() -> None:
    import doctest

    import workbench.sandbox.function as function_mod
    import workbench.sandbox.local as local_mod

    for mod in (function_mod, local_mod):
        failed, tried = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
        assert tried > 0 and failed == 0, mod.__name__
