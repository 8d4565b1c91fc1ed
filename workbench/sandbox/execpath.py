"""The exec path: one `docker exec` per run, for images without python3 (no supervisor).

The exec runs as uid 1000: `PREP_SCRIPT` checks that nothing is left (in the common case a few
shell builtins), the input files are untarred from the exec's stdin, ``timeout -k 2 <T>`` runs
the command, and the script ends by killing every other process of its uid (a setsid escape
holding stdout open would otherwise keep the stream open). A second exec streams fetched files
back as a tar. After the run, out of any run's time, the pool calls `clean_up` (the same script
in its own exec): the container is lent again only if it succeeds, else replaced. Such images
cannot run a `Judge` (it needs the supervisor).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import docker

from workbench.errors import EngineUnavailable
from workbench.sandbox.base import ExecResult, Limits, OutputCapture, classify
from workbench.sandbox.engine import exec_stream
from workbench.sandbox.pool import Slot
from workbench.sandbox.tario import DEFAULT_MAX_BYTES, DEFAULT_MAX_MEMBERS, safe_extract

__all__ = ["PREP_FAILED", "PREP_SCRIPT", "clean_up", "run_exec"]

KILL_GRACE_S = 2
HOST_SLACK_S = 8
CLEAN_BUDGET_S = 10

# Runs as the code's uid at the start of every run's exec (and in `sweep`). kill(-1) spares PID 1,
# the keeper (another uid) and the caller. In the common case nothing is left (each run's exec
# ends with `kill -9 -1`) and /work is empty, so this costs a few shell builtins. Exit 199 =
# the container could not be cleaned and must be replaced.
PREP_SCRIPT = r"""
if kill -9 -1 2>/dev/null; then
  i=0
  while :; do
    n=0
    for d in /proc/[0-9]*; do
      [ "${d#/proc/}" = "$$" ] && continue
      while read -r k r rest; do
        if [ "$k" = Uid: ]; then [ "$r" = 1000 ] && n=$((n+1)); break; fi
      done 2>/dev/null < "$d/status"
    done
    [ "$n" -eq 0 ] && break
    i=$((i+1))
    if [ "$i" -ge 100 ]; then echo "sandbox: $n processes of uid 1000 survive" >&2; exit 199; fi
    kill -9 -1 2>/dev/null
    sleep 0.02
  done
fi
for f in /work/* /work/.[!.]* /work/..?* /tmp/* /tmp/.[!.]* /tmp/..?* /dev/shm/* /dev/shm/.[!.]*; do
  if [ -e "$f" ] || [ -L "$f" ]; then
    chmod -R u+rwX /work /tmp /dev/shm 2>/dev/null
    # find batches the names (a glob on rm's command line fails with E2BIG past ~100k names)
    find /work /tmp /dev/shm -mindepth 1 -maxdepth 1 -exec rm -rf {} + 2>/dev/null
    for g in /work/* /work/.[!.]* /work/..?* /tmp/* /tmp/.[!.]* /tmp/..?* /dev/shm/* \
             /dev/shm/.[!.]*; do
      if [ -e "$g" ] || [ -L "$g" ]; then echo "sandbox: cannot remove $g" >&2; exit 199; fi
    done
    break
  fi
done
"""
PREP_FAILED = 199


def run_exec(
    client: docker.DockerClient,
    slot: Slot,
    tar: bytes | None,
    command: Sequence[str],
    lim: Limits,
    fetch: list[str],
) -> ExecResult:
    """Run `command` in the container with one `docker exec` (plus one to fetch files)."""
    script = PREP_SCRIPT + "cd /work || exit 125\n"
    if tar is not None:
        script += (
            "tar -x -f - -C /work --no-same-owner || "
            '{ echo "sandbox: writing the input files failed" >&2; exit 125; }\n'
        )
    # After the command, kill every process of uid 1000 but this shell: a background child
    # (or a setsid escape) holding stdout open would otherwise keep the stream from ending.
    script += (
        f'timeout -k {KILL_GRACE_S} {lim.timeout_s:.3f} "$@"\n'
        "rc=$?\nkill -9 -1 2>/dev/null\nexit $rc\n"
    )
    out, err = OutputCapture(int(lim.output_bytes)), OutputCapture(int(lim.output_bytes))
    cpu0, _, oom0 = slot.baseline  # read while the container was idle (`Slot.arm`)
    outcome = exec_stream(
        client,
        slot.id,
        ["sh", "-c", script, "sh", *command],
        deadline=time.monotonic() + lim.timeout_s + KILL_GRACE_S + HOST_SLACK_S,
        stdin=tar,
        on_stdout=out.add,
        on_stderr=err.add,
        read_cap=2 * int(lim.output_bytes),
    )
    cpu1, peak, oom1 = slot.stats.read()
    oom = None if oom0 is None or oom1 is None else oom1 > oom0
    result = ExecResult(
        status=classify(
            outcome.exit_code,
            outcome.wall_s,
            lim.timeout_s,
            deadline_hit=outcome.deadline_hit,
            capped=outcome.capped,
            oom=oom,
        ),
        exit_code=outcome.exit_code,
        stdout=out.text(),
        stderr=err.text(),
        truncated=out.truncated or err.truncated or outcome.capped,
        wall_s=outcome.wall_s,
        cpu_s=(cpu1 - cpu0) / 1e9 if cpu0 is not None and cpu1 is not None else None,
        peak_memory_mb=peak / 2**20 if peak is not None else None,
        isolated=True,
    )
    if fetch:
        _fetch(client, slot, fetch, result)
    return result


def clean_up(client: docker.DockerClient, slot: Slot) -> bool:
    """Kill what a run left and empty /work, /tmp and /dev/shm; True when that succeeded."""
    try:
        outcome = exec_stream(
            client,
            slot.id,
            ["sh", "-c", PREP_SCRIPT],
            deadline=time.monotonic() + CLEAN_BUDGET_S,
            on_stdout=lambda _: None,
            on_stderr=lambda _: None,
            read_cap=1 << 16,
        )
    except EngineUnavailable:
        return False
    return outcome.exit_code == 0 and not outcome.deadline_hit


def _fetch(client: docker.DockerClient, slot: Slot, paths: list[str], result: ExecResult) -> None:
    data = bytearray()
    err = OutputCapture(8192)
    # GNU tar would read `a\tb` as a tab: --no-unquote keeps every name as it is (BusyBox tar
    # has no such option and never unquotes, so it gets the plain command).
    for unquote in (["--no-unquote"], []):
        data.clear()
        err = OutputCapture(8192)
        outcome = exec_stream(
            client,
            slot.id,
            ["tar", "-c", "-f", "-", *unquote, "-C", "/work", "--", *paths],
            deadline=time.monotonic() + 30,
            on_stdout=data.extend,
            on_stderr=err.add,
            read_cap=DEFAULT_MAX_BYTES + 4 * 2**20,
        )
        if not (unquote and data == b"" and "unquote" in err.text()):
            break
    got = safe_extract(bytes(data), max_bytes=DEFAULT_MAX_BYTES, max_members=DEFAULT_MAX_MEMBERS)
    result.files = got.files
    result.notes.extend(got.notes)
    if outcome.capped or outcome.deadline_hit:
        result.notes.append(f"fetch stopped after {len(data)} bytes")
    if err.seen:
        result.notes.append("fetch: " + err.text().strip())
