"""Files in and out of a sandbox as tar streams, with a host-side reader that trusts nothing.

`pack` builds the tar written to the sandbox's stdin; `safe_extract` reads the tar the sandbox
writes back. The reader keeps regular files only, in memory (it never writes to the host disk),
and refuses symlinks, hard links, devices, FIFOs, absolute paths and ``..`` (the Judge0
CVE-2024-28185 lesson: never follow a path produced by untrusted code). It stops at a byte cap and
a member cap so a tar bomb cannot exhaust the host. Names are UTF-8 both ways, whatever the host's
locale, so a non-ASCII name comes back as it was written; one that is not valid UTF-8 is refused.
"""

from __future__ import annotations

import io
import tarfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import IO

from workbench.errors import ConfigError
from workbench.sandbox.base import check_relpath

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_MEMBERS",
    "JUDGE_UID",
    "Extracted",
    "pack",
    "safe_extract",
]

DEFAULT_MAX_BYTES = 64 * 1024 * 1024
DEFAULT_MAX_MEMBERS = 2_000
SANDBOX_UID = 1000
JUDGE_UID = 1001  # the judge's files: the code (uid 1000) cannot read them


def pack(files: Mapping[str, bytes | str], *, uid: int = SANDBOX_UID) -> bytes:
    """A tar of `files` (relative path -> content). Scripts starting with ``#!`` are executable.

    Raises:
        ConfigError: a path is absolute or leaves the work dir, or a content is not bytes/str.
    """
    buf = io.BytesIO()
    now = int(time.time())
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT, encoding="utf-8") as tar:
        for name, content in files.items():
            path = check_relpath(name)
            if isinstance(content, str):
                data = content.encode()
            elif isinstance(content, bytes | bytearray | memoryview):
                data = bytes(content)
            else:
                raise ConfigError(f"sandbox file {name!r}: content must be bytes or str")
            info = tarfile.TarInfo(path)
            info.size = len(data)
            info.mode = 0o755 if data.startswith(b"#!") else 0o644
            info.uid = info.gid = uid
            info.mtime = now
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@dataclass
class Extracted:
    """Files read from a tar stream, and what was refused or capped."""

    files: dict[str, bytes] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    capped: bool = False


def safe_extract(
    stream: IO[bytes] | bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_members: int = DEFAULT_MAX_MEMBERS,
) -> Extracted:
    """Read regular files from an untrusted tar stream into memory.

    Args:
        stream: a binary file object or the tar bytes.
        max_bytes: stop once the files' total size would exceed this.
        max_members: stop after this many tar members (of any type).

    Returns:
        `Extracted` with ``files`` (normalised relative path -> bytes) and ``notes`` naming every
        refused member and any cap that was hit.
    """
    fileobj = io.BytesIO(stream) if isinstance(stream, bytes | bytearray) else stream
    out = Extracted()
    total = 0
    count = 0
    try:
        # raw names (GNU tar, no PAX header) decode as UTF-8, not as the host's locale says;
        # bytes that are not UTF-8 become surrogates, which check_relpath refuses
        with tarfile.open(
            fileobj=fileobj, mode="r|", encoding="utf-8", errors="surrogateescape"
        ) as tar:
            for member in tar:
                count += 1
                if count > max_members:
                    out.notes.append(f"fetch capped at {max_members} tar members")
                    out.capped = True
                    break
                if member.isdir():
                    continue
                kind = _kind(member)
                if kind != "file":
                    out.notes.append(f"refused {kind} {member.name!r} in returned files")
                    continue
                try:
                    name = check_relpath(member.name)
                except ConfigError:
                    out.notes.append(f"refused path {member.name!r} in returned files")
                    continue
                if name in (".", ""):
                    continue
                if total + member.size > max_bytes:
                    out.notes.append(f"fetch capped at {max_bytes} bytes (at {name!r})")
                    out.capped = True
                    break
                fh = tar.extractfile(member)
                data = fh.read() if fh is not None else b""
                total += len(data)
                out.files[name] = data
    except (tarfile.TarError, EOFError, OSError) as exc:
        out.notes.append(f"returned tar stream unreadable or cut short: {exc}")
    return out


def _kind(member: tarfile.TarInfo) -> str:
    if member.issym():
        return "symlink"
    if member.islnk():
        return "hard link"
    if member.ischr() or member.isblk():
        return "device"
    if member.isfifo():
        return "fifo"
    if member.isfile():
        return "file"
    return "special member"
