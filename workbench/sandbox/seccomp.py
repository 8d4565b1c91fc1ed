"""The seccomp profile of every sandbox container: an allow-list written for generated code.

Docker 20.10's default profile lets an unprivileged container call ``io_uring_setup``, ``ptrace``,
``modify_ldt``, ``io_submit``, ``adjtimex`` and ``memfd_secret``, open any socket family, and
reach the whole 32-bit x86 syscall table. Ours is an allow-list: `ALLOWED` names what Python 3,
gcc/g++, ``mpicxx`` + ``mpirun -launcher fork`` (MPICH 4 over UCX shared memory), ``timeout``,
``sh``, coreutils and the supervisor (`agent.py`: fork, setuid, setgid, setgroups, kill, pipes)
call, plus ``uretprobe``/``uprobe``, which the kernel's own trampolines call when the host
attaches uprobes to a program. Every other syscall fails with EPERM
(``defaultAction`` ``SCMP_ACT_ERRNO``, ``defaultErrnoRet`` 1), so syscalls that newer kernels add
stay refused until someone allows them (runc answers ENOSYS, not EPERM, for numbers above the
highest syscall the profile names).

Three syscalls are allowed only with certain arguments: ``clone`` without namespace flags,
``personality`` only to read the persona or set the default one (no ADDR_NO_RANDOMIZE), and
``socket`` only for AF_UNIX, AF_INET, AF_INET6 and AF_NETLINK (the network is off; loopback TCP
and netlink serve MPICH's launcher and ``getaddrinfo``; AF_ALG, AF_VSOCK, AF_TIPC and the other
families are kernel code no generated program needs). ``clone3`` returns ENOSYS, because seccomp
cannot read its flags (they sit in a struct in memory): glibc then falls back to ``clone``, as
under Docker's profile.

`DENIED` lists the syscalls we refuse on purpose as explicit EPERM rules, each group with why
generated code never needs it (`workbench sandbox check` counts them). Only the native ABI is
allowed: ``archMap`` lists x86_64 and aarch64 without sub-architectures, so an i386 (``int
0x80``) or x32 syscall from an x86_64 process kills it with SIGSYS instead of reaching the 32-bit
syscall table.

Evidence (Docker 20.10.24, runc 1.1.5, libseccomp 2.5.4, kernel 6.18, MPICH 4.0.2 ch4:ucx):
under Docker's default profile ``process_vm_readv``/``process_vm_writev`` and the NUMA calls
already fail (they need CAP_SYS_PTRACE or CAP_SYS_NICE, which the container drops), and
``mpirun -np 4`` with ``UCX_TLS=self,sm`` works, small and 32 MB messages alike; denying them
changes nothing for MPI. One visible cost: LeakSanitizer stops threads with ptrace, so a program
built with ``-fsanitize=address`` reports "LeakSanitizer has encountered a fatal error" at exit;
run it with ``ASAN_OPTIONS=detect_leaks=0`` (the address checks themselves work).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from workbench.sandbox.base import Limits, Sandbox

__all__ = [
    "ALLOWED",
    "DENIED",
    "PROFILE_JSON",
    "Group",
    "SeccompReport",
    "denied_syscalls",
    "probe",
    "profile",
]

EPERM, ENOSYS = 1, 38
# CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID |
# CLONE_NEWNET: clone() is allowed only when (flags & this) == 0.
CLONE_NAMESPACES = 0x7E020000
PERSONALITIES = (0x0, 0xFFFFFFFF)  # PER_LINUX; 0xffffffff only reads the current persona
SOCKET_FAMILIES = (1, 2, 10, 16)  # AF_UNIX, AF_INET, AF_INET6, AF_NETLINK


def _names(text: str) -> tuple[str, ...]:
    return tuple(text.split())


@dataclass(frozen=True)
class Group:
    """Syscalls denied for one reason."""

    names: tuple[str, ...]
    why: str


ALLOWED: dict[str, tuple[str, ...]] = {
    "files and directories": _names(
        """
        read write open openat openat2 creat close close_range stat fstat lstat newfstatat statx
        statfs fstatfs lseek pread64 pwrite64 readv writev preadv pwritev preadv2 pwritev2 access
        faccessat faccessat2 dup dup2 dup3 fcntl flock ioctl fsync fdatasync sync syncfs
        sync_file_range truncate ftruncate fallocate fadvise64 readahead getdents getdents64 getcwd
        chdir fchdir rename renameat renameat2 mkdir mkdirat rmdir link linkat unlink unlinkat
        symlink symlinkat readlink readlinkat chmod fchmod fchmodat fchmodat2 chown fchown lchown
        fchownat umask utime utimes utimensat futimesat mknod mknodat sendfile splice tee vmsplice
        copy_file_range pipe pipe2 memfd_create inotify_init inotify_init1 inotify_add_watch
        inotify_rm_watch setxattr lsetxattr fsetxattr getxattr lgetxattr fgetxattr listxattr
        llistxattr flistxattr removexattr lremovexattr fremovexattr setxattrat getxattrat
        listxattrat removexattrat file_getattr file_setattr
        """
    ),
    "waiting for events": _names(
        """
        poll ppoll select pselect6 epoll_create epoll_create1 epoll_ctl epoll_wait epoll_pwait
        epoll_pwait2 eventfd eventfd2 signalfd signalfd4 timerfd_create timerfd_settime
        timerfd_gettime
        """
    ),
    "memory": _names(
        """
        brk mmap munmap mprotect mremap madvise mincore msync mlock mlock2 munlock mlockall
        munlockall remap_file_pages pkey_mprotect pkey_alloc pkey_free membarrier mseal
        map_shadow_stack
        """
    ),
    "processes and threads": _names(
        """
        fork vfork execve execveat exit exit_group wait4 waitid getpid getppid gettid getpgid
        setpgid getpgrp getsid setsid set_tid_address set_robust_list futex
        futex_waitv futex_wake futex_wait futex_requeue rseq arch_prctl prctl
         uname sysinfo getrandom getcpu restart_syscall pidfd_open pidfd_send_signal
        seccomp uretprobe uprobe
        """
    ),
    "users and capabilities (the supervisor drops to uid 1000; the code gets EPERM)": _names(
        """
        getuid geteuid getgid getegid getresuid getresgid getgroups setuid setgid setreuid setregid
        setresuid setresgid setfsuid setfsgid setgroups capget capset
        """
    ),
    "signals": _names(
        """
        kill tkill tgkill rt_sigaction rt_sigprocmask rt_sigreturn rt_sigpending rt_sigtimedwait
        rt_sigqueueinfo rt_tgsigqueueinfo rt_sigsuspend sigaltstack pause
        """
    ),
    "scheduling and limits": _names(
        """
        sched_yield sched_setparam sched_getparam sched_setscheduler sched_getscheduler
        sched_get_priority_max sched_get_priority_min sched_rr_get_interval sched_setaffinity
        sched_getaffinity sched_setattr sched_getattr getpriority setpriority ioprio_get ioprio_set
        getrlimit setrlimit prlimit64 getrusage times
        """
    ),
    "time": _names(
        """
        time gettimeofday clock_gettime clock_getres clock_nanosleep nanosleep alarm getitimer
        setitimer timer_create timer_settime timer_gettime timer_getoverrun timer_delete
        """
    ),
    "IPC (MPICH and UCX shared memory, multiprocessing)": _names(
        """
        shmget shmat shmdt shmctl semget semop semtimedop semctl msgget msgsnd msgrcv msgctl
        mq_open mq_unlink mq_timedsend mq_timedreceive mq_notify mq_getsetattr
        """
    ),
    "sockets (socket() itself is allowed per family, see SOCKET_FAMILIES)": _names(
        """
        socketpair bind listen accept accept4 connect shutdown getsockname getpeername getsockopt
        setsockopt sendto recvfrom sendmsg recvmsg sendmmsg recvmmsg
        """
    ),
}

DENIED: tuple[Group, ...] = (
    Group(
        _names(
            """
            io_uring_setup io_uring_enter io_uring_register io_setup io_destroy io_submit
            io_cancel io_getevents io_pgetevents
            """
        ),
        "Kernel asynchronous I/O. io_uring is a second syscall interface that the kernel's own "
        "hardening reviews keep finding holes in (Google disabled it on its servers, ChromeOS "
        "and Android); the older io_submit family belongs to libaio, which nothing in the image "
        "links (glibc's POSIX aio uses threads). Python's asyncio, gcc and MPICH/UCX use epoll "
        "and plain read/write.",
    ),
    Group(
        _names("bpf perf_event_open userfaultfd"),
        "Programs loaded into the kernel, hardware counters shared with the host, and page "
        "faults handled in user space (the usual tool to win kernel races): debugging and "
        "profiling facilities, never part of a candidate's job. Timing is measured from outside.",
    ),
    Group(
        _names("add_key request_key keyctl"),
        "Kernel keyrings are not namespaced per container; generated code has no keys.",
    ),
    Group(
        _names(
            """
            ptrace process_vm_readv process_vm_writev process_madvise process_mrelease kcmp
            pidfd_getfd get_robust_list
            """
        ),
        "Reading, writing or comparing another process's memory and file descriptors (the "
        "judge and the other ranks are such processes). UCX's cma transport would use "
        "process_vm_*; it is already off under Docker's default profile and MPI runs over "
        "shared memory.",
    ),
    Group(
        _names("unshare setns"),
        "New namespaces (a user namespace grants capabilities inside it, and with them most of "
        "the kernel's privileged code); clone() with namespace flags and clone3 are refused "
        "by their own rules.",
    ),
    Group(
        _names(
            """
            mount umount2 open_tree open_tree_attr move_mount fsopen fsconfig fsmount fspick
            mount_setattr statmount listmount pivot_root chroot
            """
        ),
        "The file system layout is set by Docker before the code starts: /work, /tmp and "
        "/dev/shm are the only writable places, and nothing needs to see or change mounts.",
    ),
    Group(
        _names(
            """
            reboot kexec_load kexec_file_load init_module finit_module delete_module create_module
            query_module get_kernel_syms acct swapon swapoff syslog quotactl quotactl_fd
            sethostname setdomainname vhangup nfsservctl lookup_dcookie _sysctl sysfs ustat uselib
            """
        ),
        "Administration of the whole machine (kernel modules, kexec, swap, accounting, the "
        "kernel log, quotas, host names) and obsolete interfaces; all host-wide, none needed "
        "to compute anything.",
    ),
    Group(
        _names("name_to_handle_at open_by_handle_at fanotify_init fanotify_mark"),
        "File handles open files by inode number, past the container's root (the 'shocker' "
        "escape); fanotify watches whole file systems. inotify stays allowed.",
    ),
    Group(
        _names("clock_settime settimeofday adjtimex clock_adjtime"),
        "The clock is the host's, shared by every container; reading time uses "
        "clock_gettime, which stays allowed.",
    ),
    Group(
        _names("iopl ioperm modify_ldt set_thread_area get_thread_area"),
        "Direct port I/O and custom x86 segments (16-bit code, Wine, far jumps into 32-bit "
        "mode): x86_64 code sets its thread pointer with arch_prctl; Docker's profile allows "
        "the last three.",
    ),
    Group(
        _names(
            """
            set_mempolicy mbind get_mempolicy migrate_pages move_pages set_mempolicy_home_node
            """
        ),
        "NUMA placement: a container with one CPU's quota has nothing to place, and hwloc "
        "and MPICH treat EPERM as 'no NUMA control' (already denied without CAP_SYS_NICE "
        "under Docker's profile).",
    ),
    Group(
        _names("memfd_secret"),
        "Memory removed from the kernel's direct map; no generated program keeps secrets.",
    ),
)


def denied_syscalls() -> list[str]:
    """Every syscall `DENIED` names (each also falls outside `ALLOWED`)."""
    return [name for group in DENIED for name in group.names]


def _rule(names: list[str], action: str, **extra: Any) -> dict[str, Any]:
    return {"names": names, "action": action, **extra}


def _arg_eq(index: int, value: int) -> dict[str, Any]:
    return {"index": index, "value": value, "op": "SCMP_CMP_EQ"}


def profile() -> dict[str, Any]:
    """The profile in Docker's JSON format (what ``--security-opt seccomp=<file>`` reads)."""
    allowed = sorted({name for names in ALLOWED.values() for name in names})
    clash = set(allowed) & set(denied_syscalls())
    if clash:
        raise ValueError(f"seccomp: syscalls both allowed and denied: {sorted(clash)}")
    no_namespaces = {
        "index": 0,
        "value": CLONE_NAMESPACES,
        "valueTwo": 0,
        "op": "SCMP_CMP_MASKED_EQ",
    }
    rules = [
        _rule(allowed, "SCMP_ACT_ALLOW"),
        _rule(["clone"], "SCMP_ACT_ALLOW", args=[no_namespaces]),
        *(_rule(["personality"], "SCMP_ACT_ALLOW", args=[_arg_eq(0, v)]) for v in PERSONALITIES),
        *(_rule(["socket"], "SCMP_ACT_ALLOW", args=[_arg_eq(0, f)]) for f in SOCKET_FAMILIES),
        _rule(["clone3"], "SCMP_ACT_ERRNO", errnoRet=ENOSYS),
        _rule(denied_syscalls(), "SCMP_ACT_ERRNO", errnoRet=EPERM),
    ]
    return {
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": EPERM,
        "archMap": [
            {"architecture": "SCMP_ARCH_X86_64", "subArchitectures": []},
            {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": []},
        ],
        "syscalls": rules,
    }


PROFILE_JSON = json.dumps(profile(), separators=(",", ":"))
"""The profile as the text docker-py passes in ``security_opt=["seccomp=<text>"]``."""

PROBE = r"""
import ctypes, errno, json, os, socket
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
status = dict(l.split(":", 1) for l in open("/proc/self/status") if ":" in l)
params = ctypes.create_string_buffer(120)
fd = libc.syscall(ctypes.c_long(425), ctypes.c_long(1), ctypes.c_void_p(ctypes.addressof(params)))
e = ctypes.get_errno()
out = {"io_uring_setup": "ok" if fd >= 0 else errno.errorcode.get(e, str(e))}
if fd >= 0:
    os.close(fd)
try:
    socket.socket(38, socket.SOCK_SEQPACKET).close() # AF_ALG
    out["socket(AF_ALG)"] = "ok"
except OSError as exc:
    out["socket(AF_ALG)"] = errno.errorcode.get(exc.errno, str(exc.errno))
print(json.dumps({"mode": status.get("Seccomp", "").strip(),
                  "filters": status.get("Seccomp_filters", "").strip(), "probes": out}))
"""


@dataclass(frozen=True)
class SeccompReport:
    """What a run inside a sandbox saw of seccomp.

    Attributes:
        mode: ``Seccomp:`` of /proc/self/status (0 none, 1 strict, 2 filter); None if unknown.
        filters: ``Seccomp_filters:``, the number of stacked filters; None if unknown.
        probes: syscall -> ``ok`` or the errno name it failed with.
    """

    mode: int | None
    filters: int | None
    probes: dict[str, str] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        """True when a filter is on and it refuses what only this profile refuses."""
        return self.mode == 2 and bool(self.probes) and set(self.probes.values()) == {"EPERM"}


def probe(sandbox: Sandbox) -> SeccompReport:
    """Run a small Python probe in `sandbox` and report whether this profile is in force."""
    res = sandbox.run({"seccomp_probe.py": PROBE}, ["python3", "seccomp_probe.py"], Limits())
    try:
        data = json.loads(res.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return SeccompReport(mode=None, filters=None)

    def number(text: str) -> int | None:
        return int(text) if text.isdigit() else None

    return SeccompReport(number(data["mode"]), number(data["filters"]), data["probes"])
