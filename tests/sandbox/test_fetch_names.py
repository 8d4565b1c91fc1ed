"""File names go into and come back from a sandbox exactly as written: non-ASCII, backslashes.

A backslash is an ordinary character of a POSIX file name, and tar names are UTF-8 whatever the
host's locale; a name that is not valid UTF-8 is refused with a note, never mangled.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile

import pytest

from workbench.errors import ConfigError
from workbench.sandbox import DockerSandbox
from workbench.sandbox.base import check_relpath
from workbench.sandbox.tario import pack, safe_extract

NAMES = ["a\\b.txt", "é ü.txt", "日本/x.txt", "cafe\u0301.txt", "emoji😀.txt", "..\\up.txt"]


def test_check_relpath_keeps_backslashes_and_unicode() -> None:
    for name in NAMES:
        assert check_relpath(name) == name
    assert check_relpath("d\\e/./f") == "d\\e/f"
    for bad in ("../x", "/etc/passwd", "a/../../b", "bad\udce9.txt"):
        with pytest.raises(ConfigError):
            check_relpath(bad)


def test_pack_then_extract_keeps_names() -> None:
    files = {name: name.encode() for name in NAMES}
    got = safe_extract(pack(files))
    assert got.files == files
    assert got.notes == []


# Builds a GNU-format tar (raw name bytes, no PAX header: what GNU tar writes) and extracts it
# with `safe_extract`, in a process whose file-system encoding is ASCII (C locale, no UTF-8 mode).
UNDER_C_LOCALE = """
import io, json, sys, tarfile
from workbench.sandbox.tario import safe_extract
names = json.loads(sys.argv[1])
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT, encoding="utf-8") as tar:
    for name in [*names, "lat\\udce9.txt"]:
        info = tarfile.TarInfo(name)
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
got = safe_extract(buf.getvalue())
print(json.dumps({"encoding": sys.getfilesystemencoding(), "names": sorted(got.files),
                  "notes": got.notes}))
"""


def test_raw_utf8_names_decode_whatever_the_locale() -> None:
    env = {**os.environ, "LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0"}
    env.pop("PYTHONIOENCODING", None)
    proc = subprocess.run(
        [sys.executable, "-c", UNDER_C_LOCALE, json.dumps(NAMES)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )
    out = json.loads(proc.stdout)
    assert out["encoding"] == "ascii"  # the case that used to mangle every non-ASCII name
    assert out["names"] == sorted(NAMES)
    assert len(out["notes"]) == 1 and "lat" in out["notes"][0]  # not UTF-8: refused, named


def test_gnu_tar_member_names_stay_raw() -> None:
    """What `tar -c` writes (raw bytes in the header) reads back unchanged."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT, encoding="utf-8") as tar:
        info = tarfile.TarInfo("out/a\\b é.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    assert safe_extract(buf.getvalue()).files == {"out/a\\b é.txt": b"hi"}


WRITE = """
import json, os, sys
os.makedirs("out", exist_ok=True)
for name in json.loads(sys.argv[1]):
    for path in (name, os.path.join("out", name)):
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(name)
"""


@pytest.mark.docker
@pytest.mark.parametrize("which", ["docker_sandbox", "docker_exec_sandbox"])
def test_docker_fetch_returns_names_as_written(which: str, request: pytest.FixtureRequest) -> None:
    """Through the supervisor and through the exec path (GNU tar, told not to unquote)."""
    sandbox: DockerSandbox = request.getfixturevalue(which)
    res = sandbox.run(
        {"w.py": WRITE},
        ["python3", "w.py", json.dumps(NAMES)],
        fetch=[*NAMES, "out"],
    )
    assert res.status == "ok", res.stderr
    expected = {name: name.encode() for name in NAMES}
    expected |= {f"out/{name}": name.encode() for name in NAMES}
    assert res.files == expected, res.notes
