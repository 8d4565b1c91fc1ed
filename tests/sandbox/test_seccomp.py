"""Our seccomp profile (`workbench.sandbox.seccomp`): what it refuses inside a real container.

The docker tests call the syscalls with ctypes' ``syscall(...)`` from Python, or from a small C
program for the 32-bit ABIs, inside `DockerSandbox` runs. Under Docker 20.10's default profile
``io_uring_setup``, ``ptrace``, ``modify_ldt``, ``adjtimex``, ``memfd_secret``, the 32-bit x86 ABI
and exotic socket families work; most of the others were already refused and are kept as guards.
"""

from __future__ import annotations

import json
import platform
import textwrap

import pytest
from typer.testing import CliRunner

from workbench.cli import app
from workbench.sandbox import DockerSandbox, FunctionSandbox, Limits
from workbench.sandbox.engine import Shape, container_kwargs
from workbench.sandbox.seccomp import (
    ALLOWED,
    CLONE_NAMESPACES,
    PROFILE_JSON,
    SeccompReport,
    denied_syscalls,
    probe,
    profile,
)

X86_64 = platform.machine() == "x86_64"
needs_x86_64 = pytest.mark.skipif(not X86_64, reason="the syscall numbers below are x86_64's")

# x86_64 syscall numbers of every denied name (arch/x86/entry/syscalls/syscall_64.tbl).
NR = {
    "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427, "bpf": 321,
    "perf_event_open": 298, "userfaultfd": 323, "add_key": 248, "request_key": 249,
    "keyctl": 250, "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311,
    "process_madvise": 440, "process_mrelease": 448, "kcmp": 312, "pidfd_getfd": 438,
    "unshare": 272, "setns": 308, "mount": 165, "umount2": 166, "open_tree": 428,
    "open_tree_attr": 467, "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432,
    "fspick": 433, "mount_setattr": 442, "statmount": 457, "listmount": 458, "pivot_root": 155,
    "chroot": 161, "reboot": 169, "kexec_load": 246, "kexec_file_load": 320, "init_module": 175,
    "finit_module": 313, "delete_module": 176, "create_module": 174, "query_module": 178,
    "get_kernel_syms": 177, "acct": 163, "swapon": 167, "swapoff": 168, "syslog": 103,
    "quotactl": 179, "quotactl_fd": 443, "sethostname": 170, "setdomainname": 171,
    "vhangup": 153, "nfsservctl": 180, "lookup_dcookie": 212, "_sysctl": 156, "sysfs": 139,
    "ustat": 136, "uselib": 134, "name_to_handle_at": 303, "open_by_handle_at": 304,
    "fanotify_init": 300, "fanotify_mark": 301, "clock_settime": 227, "settimeofday": 164,
    "adjtimex": 159, "clock_adjtime": 305, "iopl": 172, "ioperm": 173, "modify_ldt": 154,
    "set_mempolicy": 238, "mbind": 237, "get_mempolicy": 239, "migrate_pages": 256,
    "move_pages": 279, "set_mempolicy_home_node": 450, "memfd_secret": 447, "io_setup": 206,
    "io_destroy": 207, "io_getevents": 208, "io_submit": 209, "io_cancel": 210,
    "io_pgetevents": 333, "get_robust_list": 274, "set_thread_area": 205, "get_thread_area": 211,
}  # fmt: skip
# Newer than the libseccomp runc links (2.5.4 here): runc answers ENOSYS above the highest
# syscall number the profile names, which refuses them as well.
TOO_NEW = {"statmount", "listmount", "open_tree_attr"}

# Meaningful calls (not just junk arguments): each prints name -> "ok" or the errno name.
DENIED_CALLS = textwrap.dedent(
    r"""
    import ctypes, errno, json, os, socket, sys, time
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    out = {}

    def call(label, nr, *args):
        r = libc.syscall(ctypes.c_long(nr), *[ctypes.c_long(a) for a in args])
        e = ctypes.get_errno()
        if r == 0 and label.startswith("clone"):
            os._exit(0)  # the child of a clone that should not have happened
        out[label] = "ok" if r >= 0 else errno.errorcode.get(e, str(e))
        return r

    params = ctypes.create_string_buffer(120)  # struct io_uring_params
    fd = call("io_uring_setup", 425, 4, ctypes.addressof(params))
    if fd >= 0:
        os.close(fd)
    fd = call("userfaultfd", 323, os.O_CLOEXEC | 1)  # UFFD_USER_MODE_ONLY
    if fd >= 0:
        os.close(fd)
    attr = ctypes.create_string_buffer(128)  # struct perf_event_attr: software, cpu-clock
    ctypes.memmove(attr, (1).to_bytes(4, "little") + (128).to_bytes(4, "little"), 8)
    fd = call("perf_event_open", 298, ctypes.addressof(attr), 0, -1, -1, 0)
    if fd >= 0:
        os.close(fd)
    bpf_attr = ctypes.create_string_buffer(128)  # BPF_MAP_CREATE of an array map
    ctypes.memmove(bpf_attr, b"".join(n.to_bytes(4, "little") for n in (2, 4, 4, 1)), 16)
    fd = call("bpf", 321, 0, ctypes.addressof(bpf_attr), 128)
    if fd >= 0:
        os.close(fd)
    call("keyctl", 250, 1, 0)  # KEYCTL_JOIN_SESSION_KEYRING, anonymous
    sibling = os.fork()
    if sibling == 0:
        time.sleep(30)
        os._exit(0)
    if call("ptrace", 101, 16, sibling, 0, 0) == 0:  # PTRACE_ATTACH
        call("ptrace_detach", 101, 17, sibling, 0, 0)
    os.kill(sibling, 9)
    os.waitpid(sibling, 0)
    call("unshare(CLONE_NEWUSER)", 272, 0x10000000)
    call("clone(CLONE_NEWUSER)", 56, 0x10000000 | 17, 0, 0, 0, 0)
    clone_args = ctypes.create_string_buffer(88)  # struct clone_args, flags 0 (a plain fork)
    call("clone3", 435, ctypes.addressof(clone_args), 88)
    os.makedirs("/tmp/mnt", exist_ok=True)
    strings = [ctypes.create_string_buffer(b) for b in (b"none", b"/tmp/mnt", b"tmpfs")]
    call("mount", 165, *[ctypes.addressof(b) for b in strings], 0, 0)
    call("personality(ADDR_NO_RANDOMIZE)", 135, 0x0040000)
    for family, name in ((38, "AF_ALG"), (40, "AF_VSOCK"), (30, "AF_TIPC")):
        try:
            socket.socket(family, socket.SOCK_SEQPACKET).close()
            out[f"socket({name})"] = "ok"
        except OSError as exc:
            out[f"socket({name})"] = errno.errorcode.get(exc.errno, str(exc.errno))
    calls, out = out, {}
    for name, nr in json.loads(sys.argv[1]).items():  # every denied syscall, junk arguments
        call(name, nr, -1, 0, 0, 0, 0, 0)
    print(json.dumps({"calls": calls, "sweep": out}))
    """
)

# The 32-bit ABIs: getpid through int 0x80 (i386) and with the x32 bit set.
ABI_C = r"""
#include <stdio.h>
#include <unistd.h>
int main(int argc, char **argv) {
    long r;
    if (argv[1][0] == 'x') {
        r = syscall(0x40000000L | 39);
    } else {
        __asm__ volatile ("int $0x80" : "=a"(r) : "a"(20L) : "memory");
    }
    printf("%s getpid -> %ld\n", argv[1], r);
    return 0;
}
"""

STILL_WORKS = textwrap.dedent(
    r"""
    import asyncio, mmap, multiprocessing, os, socket, subprocess, threading
    from multiprocessing import shared_memory

    def square(x):
        return x * x

    assert subprocess.run(["sh", "-c", "echo hi"], capture_output=True).stdout == b"hi\n"
    t = threading.Thread(target=print, args=("thread",)); t.start(); t.join()
    with multiprocessing.get_context("fork").Pool(2) as pool:
        assert pool.map(square, range(4)) == [0, 1, 4, 9]
    shm = shared_memory.SharedMemory(create=True, size=4096); shm.close(); shm.unlink()
    with mmap.mmap(-1, 4096) as m:
        m[:2] = b"ok"
    srv = socket.create_server(("127.0.0.1", 0)); port = srv.getsockname()[1]
    cli = socket.create_connection(("127.0.0.1", port)); conn, _ = srv.accept()
    cli.sendall(b"ping"); assert conn.recv(4) == b"ping"
    for s in (cli, conn, srv):
        s.close()
    a, b = socket.socketpair(); a.close(); b.close()
    socket.socket(socket.AF_INET6, socket.SOCK_DGRAM).close()
    socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0).close()
    socket.getaddrinfo("localhost", 80)
    asyncio.run(asyncio.sleep(0))
    assert len(os.sched_getaffinity(0)) >= 1
    print("all good")
    """
)


# -- the profile itself (no engine) -------------------------------------------------------


def test_every_sandbox_container_gets_the_profile() -> None:
    shape = Shape(memory_mb=512, cpus=1, pids=64, file_size_mb=8, open_files=64)
    for agent in (None, ["python3", "-c", "pass"]):
        kwargs = container_kwargs("img", shape, run_id="r", expires=0, agent_command=agent)
        assert kwargs["security_opt"] == ["no-new-privileges", f"seccomp={PROFILE_JSON}"]


def test_profile_is_an_allow_list_with_native_abi_only() -> None:
    prof = json.loads(PROFILE_JSON)
    assert prof == profile()
    assert prof["defaultAction"] == "SCMP_ACT_ERRNO" and prof["defaultErrnoRet"] == 1
    assert "architectures" not in prof  # Docker refuses both keys together
    assert all(m["subArchitectures"] == [] for m in prof["archMap"])
    by_name: dict[str, list[dict]] = {}
    for rule in prof["syscalls"]:
        for name in rule["names"]:
            by_name.setdefault(name, []).append(rule)
    (clone,) = by_name["clone"]
    assert clone["args"] == [
        {"index": 0, "value": CLONE_NAMESPACES, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}
    ]
    assert by_name["clone3"] == [{"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]
    assert {r["args"][0]["value"] for r in by_name["personality"]} == {0, 0xFFFFFFFF}
    assert {r["args"][0]["value"] for r in by_name["socket"]} == {1, 2, 10, 16}
    for name in denied_syscalls():
        assert [r["action"] for r in by_name[name]] == ["SCMP_ACT_ERRNO"], name


def test_denied_names_cover_the_issue_and_miss_the_supervisors_needs() -> None:
    denied, allowed = set(denied_syscalls()), {n for ns in ALLOWED.values() for n in ns}
    assert not denied & allowed
    assert set(NR) == denied  # the docker test below calls every one of them
    issue = {
        "io_uring_setup", "io_uring_enter", "io_uring_register", "userfaultfd",
        "perf_event_open", "bpf", "keyctl", "add_key", "request_key", "ptrace",
        "process_vm_writev", "kcmp", "pidfd_getfd", "unshare", "setns", "mount", "open_tree",
        "move_mount", "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr", "pivot_root",
        "chroot", "kexec_load", "kexec_file_load", "init_module", "finit_module",
        "delete_module", "acct", "swapon", "swapoff", "reboot", "syslog", "quotactl",
        "name_to_handle_at", "open_by_handle_at", "lookup_dcookie", "fanotify_init", "iopl",
        "ioperm", "clock_settime", "settimeofday", "adjtimex", "clock_adjtime", "vhangup",
        "uselib", "ustat", "sysfs", "_sysctl", "nfsservctl",
    }  # fmt: skip
    assert issue <= denied
    supervisor = {
        "setuid", "setgid", "setgroups", "kill", "fork", "pipe2", "socketpair", "wait4",
        "execve", "select", "dup2", "unlinkat", "shmctl", "msgctl", "semctl", "mq_unlink",
    }  # fmt: skip
    assert supervisor <= allowed


def test_report_active_only_when_the_profile_refuses_its_fingerprints() -> None:
    def run_with(probes: dict[str, str], mode: str = "2") -> SeccompReport:
        line = json.dumps({"mode": mode, "filters": "1", "probes": probes})
        return probe(FunctionSandbox(lambda req: f"noise\n{line}\n"))

    ours = run_with({"io_uring_setup": "EPERM", "socket(AF_ALG)": "EPERM"})
    assert ours.active and ours.mode == 2 and ours.filters == 1
    assert not run_with({"io_uring_setup": "ok", "socket(AF_ALG)": "EAFNOSUPPORT"}).active
    assert not run_with({"io_uring_setup": "EPERM"}, mode="0").active
    assert probe(FunctionSandbox(lambda req: "")) == SeccompReport(mode=None, filters=None)


# -- inside real containers -----------------------------------------------------------------


@pytest.fixture(scope="module")
def denied_results(docker_sandbox: DockerSandbox) -> dict[str, dict[str, str]]:
    res = docker_sandbox.run(
        {"denied.py": DENIED_CALLS}, ["python3", "denied.py", json.dumps(NR)], Limits(timeout_s=60)
    )
    assert res.ok, res.stdout + res.stderr
    return json.loads(res.stdout.strip().splitlines()[-1])


BRIEF_CALLS = [
    "io_uring_setup", "userfaultfd", "perf_event_open", "bpf", "keyctl", "ptrace",
    "unshare(CLONE_NEWUSER)", "clone(CLONE_NEWUSER)", "mount", "personality(ADDR_NO_RANDOMIZE)",
    "socket(AF_ALG)", "socket(AF_VSOCK)", "socket(AF_TIPC)",
]  # fmt: skip


@pytest.mark.docker
@needs_x86_64
@pytest.mark.parametrize("call", BRIEF_CALLS)
def test_real_call_is_refused_with_eperm(denied_results: dict, call: str) -> None:
    assert denied_results["calls"][call] == "EPERM"


@pytest.mark.docker
@needs_x86_64
def test_clone3_answers_enosys_so_glibc_falls_back(denied_results: dict) -> None:
    assert denied_results["calls"]["clone3"] == "ENOSYS"


@pytest.mark.docker
@needs_x86_64
@pytest.mark.parametrize("name", sorted(NR))
def test_every_denied_syscall_is_refused(denied_results: dict, name: str) -> None:
    assert denied_results["sweep"][name] in ({"EPERM", "ENOSYS"} if name in TOO_NEW else {"EPERM"})


@pytest.mark.docker
@needs_x86_64
def test_32_bit_syscalls_kill_the_process(docker_sandbox: DockerSandbox) -> None:
    res = docker_sandbox.run(
        {"abi.c": ABI_C},
        ["sh", "-c", "gcc -o abi abi.c && for m in i386 x32; do ./abi $m; echo $m rc=$?; done"],
        Limits(timeout_s=60),
    )
    assert "i386 rc=159" in res.stdout and "x32 rc=159" in res.stdout, res.stdout + res.stderr


@pytest.mark.docker
def test_common_runtime_paths_still_work(docker_sandbox: DockerSandbox) -> None:
    res = docker_sandbox.run({"works.py": STILL_WORKS}, ["python3", "works.py"])
    assert res.ok and "all good" in res.stdout, res.stdout + res.stderr


@pytest.mark.docker
def test_probe_sees_the_profile_on_both_docker_paths(
    docker_sandbox: DockerSandbox, docker_exec_sandbox: DockerSandbox
) -> None:
    for sb in (docker_sandbox, docker_exec_sandbox):
        report = probe(sb)
        assert report.active, report


@pytest.mark.docker
@pytest.mark.slow
def test_check_prints_the_active_profile(docker_sandbox: DockerSandbox) -> None:
    res = CliRunner().invoke(app, ["sandbox", "check", "--sandbox", "docker"])
    assert res.exit_code == 0, res.output
    assert f"seccomp: workbench profile active ({len(denied_syscalls())} syscalls denied" in (
        " ".join(res.output.split())
    )
