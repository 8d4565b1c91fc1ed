"""Build the sandbox image offline: debootstrap → `docker import` → `docker build FROM` it.

No registry is ever contacted: the base layer is a Debian rootfs made by `debootstrap` from the
Debian mirror (cached as a tarball under ``cache_dir("sandbox")``), imported with `docker import`;
the second layer apt-installs the toolchain. The final tag is ``workbench-sandbox:<hash>`` where
the hash covers the whole recipe, so a changed recipe gives a new tag and an unchanged one is
never rebuilt.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from importlib import resources
from pathlib import Path

import docker
import docker.errors

from workbench.errors import NotSetUp
from workbench.paths import cache_dir

__all__ = [
    "DEBOOTSTRAP_ARGS",
    "IMAGE_REPO",
    "build_image",
    "default_image",
    "dockerfile_text",
    "recipe_hash",
]

log = logging.getLogger(__name__)

IMAGE_REPO = "workbench-sandbox"
BASE_REPO = "workbench-sandbox-base"
DEBOOTSTRAP_ARGS: tuple[str, ...] = (
    "--variant=minbase",
    "bookworm",
    "{rootfs}",
    "http://deb.debian.org/debian",
)
BUILD_CMD = "workbench sandbox build"

Progress = Callable[[str], None]


def _noop(_: str) -> None:
    return None


def dockerfile_text(base: str = "{base}") -> str:
    """The Dockerfile of the second layer, with ``{base}`` replaced by the imported rootfs."""
    text = resources.files(__package__).joinpath("Dockerfile").read_text()
    return text.replace("{base}", base)


def _base_hash() -> str:
    return hashlib.sha256(json.dumps(DEBOOTSTRAP_ARGS).encode()).hexdigest()[:12]


def recipe_hash() -> str:
    """sha256 of the whole recipe (debootstrap arguments + Dockerfile), first 12 hex digits."""
    blob = json.dumps({"debootstrap": DEBOOTSTRAP_ARGS, "dockerfile": dockerfile_text()})
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def default_image() -> str:
    """The tag `workbench sandbox build` produces for the current recipe."""
    return f"{IMAGE_REPO}:{recipe_hash()}"


def _has_image(client: object, name: str) -> bool:
    try:
        client.images.get(name)  # type: ignore[attr-defined]
    except docker.errors.ImageNotFound:
        return False
    return True


def _rootfs_tarball(progress: Progress) -> Path:
    """Debootstrap a minimal bookworm once and keep it as a tarball in the cache."""
    cache = cache_dir("sandbox")
    tarball = cache / f"rootfs-{_base_hash()}.tar"
    if tarball.exists():
        progress(f"rootfs: cached {tarball}")
        return tarball
    if shutil.which("debootstrap") is None:
        raise NotSetUp("debootstrap is not installed: run `apt-get install -y debootstrap`")
    work = Path(tempfile.mkdtemp(prefix="rootfs-", dir=cache))
    try:
        args = [a.replace("{rootfs}", str(work / "root")) for a in DEBOOTSTRAP_ARGS]
        progress("rootfs: debootstrap " + " ".join(args) + " (about 2 minutes)")
        proc = subprocess.Popen(
            ["debootstrap", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith(("I: Retrieving", "I: Extracting", "I: Configuring")):
                continue  # hundreds of lines; keep the milestones only
            progress("debootstrap: " + line.rstrip())
        if proc.wait() != 0:
            raise NotSetUp(
                f"debootstrap failed (exit {proc.returncode}); check network access to "
                "deb.debian.org and rerun `workbench sandbox build`"
            )
        tmp = tarball.with_suffix(".tar.tmp")
        progress(f"rootfs: packing {tarball.name}")
        subprocess.run(["tar", "-C", str(work / "root"), "-cf", str(tmp), "."], check=True)
        os.replace(tmp, tarball)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return tarball


def build_image(
    client: object | None = None,
    *,
    force: bool = False,
    progress: Progress | None = None,
) -> str:
    """Build (or reuse) the sandbox image and return its tag.

    Args:
        client: a ``docker.DockerClient``; by default one from the environment.
        force: rebuild the second layer even when the tag exists.
        progress: called with one line of progress at a time.

    Returns:
        The image tag, ``workbench-sandbox:<recipe hash>``.

    Raises:
        NotSetUp: no Docker engine, no debootstrap, or the build failed.
    """
    say = progress or _noop
    if client is None:
        try:
            client = docker.from_env(timeout=600)
            client.ping()
        except docker.errors.DockerException as exc:
            raise NotSetUp(
                f"no Docker engine ({exc}); install docker.io and start dockerd, "
                f"then run `{BUILD_CMD}`"
            ) from exc
    tag = default_image()
    if not force and _has_image(client, tag):
        say(f"image {tag} exists; nothing to build")
        return tag
    base = f"{BASE_REPO}:{_base_hash()}"
    if not _has_image(client, base):
        tarball = _rootfs_tarball(say)
        say(f"import: {tarball.name} -> {base}")
        repo, _, base_tag = base.partition(":")
        client.api.import_image_from_file(  # type: ignore[attr-defined]
            str(tarball), repository=repo, tag=base_tag
        )
        if not _has_image(client, base):
            raise NotSetUp(
                f"docker import of {tarball} did not produce {base}; rerun `{BUILD_CMD}`"
            )
    say(f"build: {tag} FROM {base} (apt-get install, about 1 minute)")
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        data = dockerfile_text(base).encode()
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    context.seek(0)
    error = None
    for chunk in client.api.build(  # type: ignore[attr-defined]
        fileobj=context,
        custom_context=True,
        tag=tag,
        rm=True,
        forcerm=True,
        decode=True,
        labels={"workbench.recipe": recipe_hash()},
    ):
        if "stream" in chunk and chunk["stream"].strip():
            say("build: " + chunk["stream"].rstrip())
        if "error" in chunk:
            error = chunk["error"]
    if error or not _has_image(client, tag):
        raise NotSetUp(f"docker build of {tag} failed: {error}; rerun `{BUILD_CMD}`")
    say(f"image {tag} ready")
    return tag
