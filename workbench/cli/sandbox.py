"""`workbench sandbox ...`: build and check the sandbox image, reap leftover containers."""

from __future__ import annotations

import time

import typer
from rich.table import Table

from workbench.cli._common import console, err_console
from workbench.sandbox import Limits, build_image, open_sandbox
from workbench.sandbox.base import ExecResult
from workbench.sandbox.docker import docker_client
from workbench.sandbox.engine import reap as reap_containers
from workbench.sandbox.seccomp import SeccompReport, denied_syscalls
from workbench.sandbox.seccomp import probe as probe_seccomp

app = typer.Typer(no_args_is_help=True, add_completion=False)

SMOKE_C = r"""
#include <mpi.h>
#include <stdio.h>
int main(int argc, char **argv) {
    int rank, size, sum;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Allreduce(&rank, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0) printf("ranks=%d sum=%d\n", size, sum);
    MPI_Finalize();
    return 0;
}
"""

SMOKE_STEPS: list[tuple[str, dict[str, str], list[str], str]] = [
    ("python", {"a.py": "print(6 * 7)"}, ["python3", "a.py"], "42"),
    (
        "C compile",
        {"h.c": '#include <stdio.h>\nint main(void){puts("hello c");return 0;}\n'},
        ["sh", "-c", "gcc -O2 -o h h.c && ./h"],
        "hello c",
    ),
    (
        "mpirun -np 4",
        {"m.c": SMOKE_C},
        ["sh", "-c", "mpicc -O2 -o m m.c && mpirun -np 4 ./m"],
        "ranks=4 sum=6",
    ),
]


@app.command()
def build(
    force: bool = typer.Option(False, "--force", help="Rebuild even if the tag exists."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the image tag."),
) -> None:
    """Build the sandbox image offline (debootstrap + docker import + apt); skip if it exists."""

    def progress(line: str) -> None:
        if not quiet:
            err_console.print(f"[dim]{line}[/dim]", highlight=False, soft_wrap=True)

    start = time.monotonic()
    tag = build_image(force=force, progress=progress)
    if not quiet:
        err_console.print(f"[green]ready[/green] in {time.monotonic() - start:.0f} s")
    console.print(tag, highlight=False)


@app.command()
def check(
    sandbox: str = typer.Option(
        "auto", "--sandbox", "-s", help="docker | docker:<image> | local | auto"
    ),
) -> None:
    """Smoke-test a sandbox: Python, a C compile and `mpirun -np 4`; print the limits in force."""
    limits = Limits(timeout_s=60, memory_mb=1024)
    failed = []
    with open_sandbox(sandbox) as sb:
        kind = type(sb).__name__
        if not sb.isolated:
            err_console.print(
                f"[bold yellow]warning:[/bold yellow] {kind} is NOT a security boundary "
                "(named with --sandbox local; Docker is the default)"
            )
        table = Table(title=f"{kind} ({sb.image_id[:19]})")
        for col in ("step", "status", "wall s", "output"):
            table.add_column(col)
        for name, files, cmd, expect in SMOKE_STEPS:
            res: ExecResult = sb.run(files, cmd, limits)
            good = res.ok and expect in res.stdout
            if not good:
                failed.append(name)
            shown = (res.stdout.strip() or res.stderr.strip())[-80:]
            table.add_row(
                name, "ok" if good else f"FAILED ({res.status})", f"{res.wall_s:.2f}", shown
            )
        console.print(table)
        default = getattr(sb, "limits", Limits())
        console.print(
            "limits in force (per-run defaults): "
            + ", ".join(f"{k}={v}" for k, v in default.to_dict().items())
            + f"  (the smoke steps used timeout_s={limits.timeout_s:g}, "
            f"memory_mb={limits.memory_mb})"
        )
        console.print(f"isolated: {sb.isolated}")
        report = probe_seccomp(sb)
        console.print(_seccomp_line(report), highlight=False)
        if sb.isolated and not report.active:
            failed.append("seccomp profile")
    if failed:
        err_console.print(f"[bold red]smoke test failed:[/bold red] {', '.join(failed)}")
        raise typer.Exit(1)


def _seccomp_line(report: SeccompReport) -> str:
    seen = f"/proc/self/status Seccomp: {report.mode}, Seccomp_filters: {report.filters}"
    if report.active:
        return (
            f"seccomp: workbench profile active ({len(denied_syscalls())} syscalls denied by "
            f"name, all others outside the allow-list refused; {seen})"
        )
    probes = ", ".join(f"{k} -> {v}" for k, v in report.probes.items()) or "probe failed"
    return f"seccomp: workbench profile NOT active ({seen}; {probes})"


@app.command()
def reap() -> None:
    """Remove leftover sandbox containers (expired, or whose Workbench process is gone)."""

    removed = reap_containers(docker_client())
    console.print(f"removed {len(removed)} container(s)")
