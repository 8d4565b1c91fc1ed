"""`workbench llm setup`: build llama-server and assemble a model's GGUF, both cached.

Both steps are idempotent (a second run only checks what is there) and atomic: work happens in a
temporary directory next to the target and ends with a rename, so an interrupted or failed run
leaves no half-written file in the cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from workbench.errors import NotSetUp
from workbench.llm.local.catalog import (
    LLAMA_CPP_VERSION,
    ModelInfo,
    binary_path,
    get_model,
    model_path,
    runtime,
)
from workbench.paths import cache_dir

__all__ = [
    "Download",
    "SetupEvent",
    "assemble_model",
    "build_commands",
    "build_llama_server",
    "is_model_ready",
    "pip_download",
    "setup",
]

_CHUNK = 4 << 20


@dataclass
class SetupEvent:
    """Progress of a setup step; `done`/`total` are set when the step can count."""

    stage: str  # "build" | "model"
    message: str
    done: float | None = None
    total: float | None = None


Progress = Callable[[SetupEvent], None]
Download = Callable[[list[str], Path, list[str]], None]


def _no_progress(event: SetupEvent) -> None:
    return None


def pip_download(packages: list[str], dest: Path, extra: list[str]) -> None:
    """``python -m pip download --no-deps -d dest <extra> <packages>`` (never installs)."""
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--disable-pip-version-check",
        "--progress-bar",
        "off",
        "-d",
        str(dest),
        *extra,
        *packages,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = " | ".join((proc.stderr or proc.stdout).strip().splitlines()[-3:])
        raise NotSetUp(f"pip download {' '.join(packages)} failed: {tail}; check PyPI access")


# -- llama-server ---------------------------------------------------------------------------------
def build_commands(source: Path, build: Path, jobs: int) -> list[list[str]]:
    """The cmake configure and build commands, flags exactly as models.json's runtime says."""
    flags = runtime()["cmake_flags"].split()
    return [
        ["cmake", "-S", str(source), "-B", str(build), "-G", "Ninja", *flags]
        if shutil.which("ninja")
        else ["cmake", "-S", str(source), "-B", str(build), *flags],
        ["cmake", "--build", str(build), "--target", "llama-server", f"-j{jobs}"],
    ]


def build_llama_server(
    progress: Progress = _no_progress,
    *,
    jobs: int | None = None,
    force: bool = False,
    download: Download = pip_download,
) -> Path:
    """Build llama-server from the llama.cpp tree vendored in the llama-cpp-python sdist.

    Returns:
        ``cache_dir("bin")/llama-server-<version>`` (already there: returned at once).

    Raises:
        NotSetUp: cmake or a compiler is missing, the download or the build failed.
    """
    target = binary_path()
    if target.exists() and not force:
        progress(SetupEvent("build", f"llama-server {LLAMA_CPP_VERSION} already built", 1, 1))
        return target
    for tool in ("cmake", "c++"):
        if shutil.which(tool) is None:
            raise NotSetUp(f"{tool} is not installed; run: apt-get install -y cmake g++")
    jobs = jobs or os.cpu_count() or 1
    work = Path(tempfile.mkdtemp(prefix="llama-build-", dir=cache_dir("build")))
    log_path = cache_dir("logs") / "llama-server-build.log"
    try:
        progress(SetupEvent("build", f"downloading llama-cpp-python=={LLAMA_CPP_VERSION} sdist"))
        download([runtime()["sdist"]], work, ["--no-binary", "llama-cpp-python"])
        sdists = sorted(work.glob("llama_cpp_python-*.tar.gz"))
        if not sdists:
            raise NotSetUp(f"pip download left no llama-cpp-python sdist in {work}")
        progress(SetupEvent("build", "unpacking the sdist"))
        with tarfile.open(sdists[0]) as tar:
            tar.extractall(work, filter="data")
        source = work / sdists[0].name.removesuffix(".tar.gz") / "vendor" / "llama.cpp"
        with log_path.open("w") as log:
            for i, cmd in enumerate(build_commands(source, work / "build", jobs)):
                stage = "configuring (cmake)" if i == 0 else "compiling llama-server"
                progress(SetupEvent("build", stage))
                _run_logged(cmd, log, progress)
        built = work / "build" / "bin" / "llama-server"
        if not built.exists():
            raise NotSetUp(f"the build finished without {built}; see {log_path}")
        staged = target.with_name(target.name + ".tmp")
        shutil.copy2(built, staged)
        os.replace(staged, target)
        progress(SetupEvent("build", f"built {target}", 1, 1))
        return target
    finally:
        shutil.rmtree(work, ignore_errors=True)


_STEP = re.compile(r"^\[(\d+)/(\d+)\]")


def _run_logged(cmd: list[str], log: object, progress: Progress) -> None:
    tail: list[str] = []
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as p:
        assert p.stdout is not None
        for line in p.stdout:
            log.write(line)  # type: ignore[attr-defined]
            tail = [*tail[-20:], line.rstrip()]
            m = _STEP.match(line)
            if m:
                done, total = int(m.group(1)), int(m.group(2))
                progress(SetupEvent("build", "compiling llama-server", done, total))
    if p.returncode != 0:
        last = " | ".join(t for t in tail[-3:] if t)
        raise NotSetUp(f"`{' '.join(cmd[:3])} ...` failed (exit {p.returncode}): {last}")


# -- models ---------------------------------------------------------------------------------------
def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".verified.json")


def is_model_ready(name: str) -> bool:
    """Whether the model's GGUF is in the cache and was verified."""
    info = get_model(name)
    path = model_path(name)
    try:
        marker = json.loads(_sidecar(path).read_text())
    except (OSError, ValueError):
        return False
    return (
        path.exists()
        and marker.get("sha256") == info.sha256
        and (marker.get("size") == path.stat().st_size)
    )


def assemble_model(
    name: str | ModelInfo,
    progress: Progress = _no_progress,
    *,
    download: Download = pip_download,
    force: bool = False,
) -> Path:
    """Download the model's packages, join their members in order, verify, rename into place.

    Returns:
        ``cache_dir("models")/<name>.gguf``.

    Raises:
        ConfigError: unknown model name.
        NotSetUp: download failed, a member is missing, or size / sha256 do not match (nothing
            is left in the cache then).
    """
    info = name if isinstance(name, ModelInfo) else get_model(name)
    target = model_path(info.name)
    if not force and isinstance(name, str) and is_model_ready(info.name):
        progress(SetupEvent("model", f"{info.name} already assembled", 1, 1))
        return target
    work = Path(tempfile.mkdtemp(prefix=f".tmp-{info.name}-", dir=target.parent))
    try:
        total = len(info.packages)
        for i, package in enumerate(info.packages):
            progress(SetupEvent("model", f"downloading {package}", i, total))
            download([package], work, [])
        progress(SetupEvent("model", "joining and verifying", total, total))
        staged = work / target.name
        size, digest = _join(_members(work, info.files), staged)
        if info.size is not None and size != info.size:
            raise NotSetUp(
                f"{info.name}: assembled {size} bytes, expected {info.size}; nothing was cached"
            )
        if digest != info.sha256:
            raise NotSetUp(
                f"{info.name}: sha256 {digest} does not match the expected {info.sha256}; "
                "nothing was cached, rerun `workbench llm setup` or report the broken package"
            )
        os.replace(staged, target)
        _sidecar(target).write_text(json.dumps({"sha256": digest, "size": size}))
        progress(SetupEvent("model", f"{info.name} ready ({size / 1e6:.0f} MB)", 1, 1))
        return target
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _members(work: Path, files: Iterable[str]) -> list[tuple[Path, str]]:
    index: dict[str, Path] = {}
    for wheel in sorted(work.glob("*.whl")):
        with zipfile.ZipFile(wheel) as zf:
            index.update({member: wheel for member in zf.namelist()})
    missing = [f for f in files if f not in index]
    if missing:
        raise NotSetUp(f"the downloaded wheels have no {', '.join(missing)}")
    return [(index[f], f) for f in files]


def _join(members: list[tuple[Path, str]], out: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with out.open("wb") as dst:
        for wheel, member in members:
            with zipfile.ZipFile(wheel) as zf, zf.open(member) as src:
                while chunk := src.read(_CHUNK):
                    dst.write(chunk)
                    digest.update(chunk)
                    size += len(chunk)
    return size, digest.hexdigest()


def setup(model: str, progress: Progress = _no_progress, *, jobs: int | None = None) -> Path:
    """Build the server (if needed) and assemble `model` (if needed); returns the model path."""
    get_model(model)  # unknown names fail before any download
    build_llama_server(progress, jobs=jobs)
    return assemble_model(model, progress)
