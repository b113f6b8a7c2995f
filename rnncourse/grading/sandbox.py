"""The sandbox: the program that runs one exercise of one submission.

The grader starts this file once per grading run as a fork server::

    python -I -S -B .../rnncourse/grading/sandbox.py --serve SITE   # see serve()

(isolated mode: no environment variables, no user site, no current directory
on ``sys.path``; no ``site``, so no ``.pth`` file runs and ``rnncourse`` is not
importable; no ``.pyc`` writes). It imports only the standard library and
NumPy, never ``rnncourse``, so that the grader can also import it for the
plain-data format that both sides share (:func:`encode`, :func:`decode`). The
server forks one child per (submission, exercise); without the server, the
grader starts the same file as a fresh interpreter per exercise instead.

In the child, in this order:

1. take its pipes (stdin, stdout, stderr, a report pipe, a result pipe), its own
   session and its private directory (mode 0700); read the per-run nonce, the
   job and the check inputs from stdin (``allow_pickle=False``) -- nothing comes
   from a file that another process could rewrite;
2. set resource limits (address space, CPU time, file size, no core dumps),
   ``PR_SET_DUMPABLE`` 0, then **Landlock** (:func:`_install_landlock`): from here on
   the kernel lets the process read the standard library, NumPy and the shared
   libraries, read and write its own directory, and nothing else -- no ``/proc``,
   no grader file, no other sandbox; then a **seccomp** filter: no ``execve``, no
   ``fork`` (threads only), no signals to other processes, no ``ptrace``, no
   sockets, no namespaces, no System V IPC. Both are irrevocable. Without
   Landlock the child refuses to run (exit status :data:`SANDBOX_REFUSED`)
   unless the instructor accepted the weak sandbox;
3. install an audit hook (:class:`Guard`) -- only a second layer: its policy lives
   in Python objects that graded code can reach, so it is there for clear
   messages ("tried to import rnncourse") and reports each attempt at once
   through the report pipe; the kernel enforces the same rules underneath;
4. run the trusted helpers, the required cells and the exercise cell in one
   fresh namespace, evaluate the spec's ``call`` on every case through
   :class:`Watch` (which of its inputs a function changed in place, under the
   student's parameter names), and convert each result to plain data;
5. send the status (with the nonce) and the arrays (``np.savez``, no pickles)
   through the result pipe, then leave with ``os._exit``.

Nothing the child writes decides a score: the grader compares the returned
data with the reference it computes in its own process.
"""

from __future__ import annotations

import builtins
import inspect
import json
import os
import sys
from collections.abc import Callable
from typing import Any

if __name__ == "__main__":  # started by the grader: the folders NumPy is imported from
    sys.path.extend(a for a in sys.argv[1:] if not a.startswith("--"))

import numpy as np  # noqa: E402

__all__ = ["Unsupported", "encode", "decode", "MAX_NODES", "MAX_DEPTH", "landlock_abi",
           "landlock_plan", "without_magics"]

MAX_NODES = 100_000  # values in one result tree
MAX_DEPTH = 32  # nesting of lists / tuples / dicts
MAX_STR = 10_000  # characters of one string
MAX_ARRAY_BYTES = 64 << 20  # bytes of all arrays of one run
WRITE_FAILED = 3  # exit status when the results could not be written
SANDBOX_REFUSED = 4  # exit status when Landlock was required but could not be applied
OUT_OF_MEMORY = 5  # exit status when the results could not be written for lack of memory

# --------------------------------------------------------------------------- plain data
#
# A value travels as a JSON tree whose leaves name arrays stored beside it in
# an .npz file: {"t": "array", "k": "a3"}.  Only these types exist:
#   none, bool, int, float, str             Python scalars
#   scalar                                  a NumPy scalar (bool, integer, float), as a 0-d array
#   array                                   a plain numpy.ndarray of bools, integers or floats
#   list, tuple                             {"t": "list", "v": [tree, ...]}
#   dict                                    {"t": "dict", "v": [[key, tree], ...]} with str keys


class Unsupported(Exception):
    """A value that cannot travel as plain data; the message says why."""


_KINDS = {"b": "booleans", "c": "complex numbers", "U": "strings", "S": "bytes",
          "O": "Python objects", "V": "structured records", "M": "dates", "m": "time deltas"}


def _describe(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"a {type(value).__name__} of shape {value.shape}"
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of {len(value)} items"
    return f"a {type(value).__name__}"


def _check_array(arr: np.ndarray, where: str) -> None:
    dtype = arr.dtype
    if dtype.fields is not None or dtype.kind not in "biuf" or dtype.itemsize > 8:
        what = _KINDS.get(dtype.kind, f"dtype {dtype}")
        raise Unsupported(f"{where} is an array of {what} (dtype {dtype}); "
                          f"expected numbers (a float or integer array)")


def encode(value: Any, arrays: dict[str, np.ndarray], where: str = "the result",
           *, prefix: str = "a") -> dict:
    """Turn ``value`` into a JSON tree; arrays go into ``arrays`` (key -> ndarray).

    Raises :class:`Unsupported` for anything else (objects, subclasses of
    ``numpy.ndarray``, complex numbers, too large or too deep values); the
    message names ``where`` the value sits, e.g. ``"dWh"`` or ``"dWh[2]"``.
    """
    budget = {"nodes": 0, "bytes": sum(a.nbytes for a in arrays.values())}

    def store(arr: np.ndarray, where: str) -> str:
        budget["bytes"] += arr.nbytes
        if budget["bytes"] > MAX_ARRAY_BYTES:
            raise Unsupported(f"{where} is too large (more than {MAX_ARRAY_BYTES >> 20} MB of "
                              f"arrays in all)")
        key = f"{prefix}{len(arrays)}"
        arrays[key] = arr
        return key

    def walk(v: Any, where: str, depth: int) -> dict:
        budget["nodes"] += 1
        if budget["nodes"] > MAX_NODES:
            raise Unsupported(f"{where} has more than {MAX_NODES} values")
        if depth > MAX_DEPTH:
            raise Unsupported(f"{where} is nested more than {MAX_DEPTH} levels deep")
        if v is None:
            return {"t": "none"}
        if type(v) is bool:
            return {"t": "bool", "v": v}
        if type(v) is int:
            if abs(v) >= 1 << 63:
                raise Unsupported(f"{where} is an integer too large to compare ({v.bit_length()} "
                                  f"bits)")
            return {"t": "int", "v": v}
        if type(v) is float:
            return {"t": "float", "v": v}
        if type(v) is str:
            if len(v) > MAX_STR:
                raise Unsupported(f"{where} is a string longer than {MAX_STR} characters")
            return {"t": "str", "v": v}
        if isinstance(v, np.generic):
            arr = np.asarray(v)
            _check_array(arr, where)
            return {"t": "scalar", "k": store(arr.copy(), where)}
        if type(v) is np.ndarray:
            _check_array(v, where)
            return {"t": "array", "k": store(np.array(v, copy=True, order="C"), where)}
        if isinstance(v, np.ndarray):
            raise Unsupported(
                f"{where} is a {type(v).__name__} (a subclass of numpy.ndarray); "
                f"return a plain numpy.ndarray (np.asarray(...))"
            )
        if type(v) in (list, tuple):
            return {"t": type(v).__name__,
                    "v": [walk(x, f"{where}[{i}]", depth + 1) for i, x in enumerate(v)]}
        if type(v) is dict:
            items = []
            for k, x in v.items():
                if type(k) is not str:
                    raise Unsupported(f"{where} is a dict with a non-string key {type(k).__name__}")
                items.append([k, walk(x, f"{where}[{k!r}]", depth + 1)])
            return {"t": "dict", "v": items}
        if isinstance(v, (bool, int, float, str, list, tuple, dict)):
            raise Unsupported(f"{where} is a {type(v).__name__} (a subclass of "
                              f"{type(v).__mro__[1].__name__}); return a plain value")
        if isinstance(v, complex):
            raise Unsupported(f"{where} is a complex number; expected a real number")
        raise Unsupported(f"{where} is an object of type {type(v).__name__}; expected a NumPy "
                          f"array, a number, or a list/tuple of them")

    return walk(value, where, 0)


def decode(node: Any, arrays: dict[str, np.ndarray]) -> Any:
    """Rebuild a value from :func:`encode`'s tree, checking every node (untrusted input).

    Raises ``ValueError`` on anything malformed.
    """
    count = [0]

    def walk(n: Any, depth: int) -> Any:
        count[0] += 1
        if count[0] > MAX_NODES or depth > MAX_DEPTH:
            raise ValueError("result tree too large or too deep")
        if type(n) is not dict or type(n.get("t")) is not str:
            raise ValueError("malformed result tree")
        t, v = n["t"], n.get("v")
        if t == "none":
            return None
        if t == "bool" and type(v) is bool:
            return v
        if t == "int" and type(v) is int:
            return v
        if t == "float" and type(v) in (float, int):
            return float(v)
        if t == "str" and type(v) is str and len(v) <= MAX_STR:
            return v
        if t in ("array", "scalar"):
            key = n.get("k")
            if type(key) is not str or key not in arrays:
                raise ValueError(f"result tree names a missing array {key!r}")
            arr = arrays[key]
            if t == "array":
                return arr
            if arr.ndim != 0:
                raise ValueError("a scalar that is not 0-d")
            return arr[()]
        if t in ("list", "tuple") and type(v) is list:
            items = [walk(x, depth + 1) for x in v]
            return items if t == "list" else tuple(items)
        if t == "dict" and type(v) is list:
            out = {}
            for item in v:
                if type(item) is not list or len(item) != 2 or type(item[0]) is not str:
                    raise ValueError("malformed dict in result tree")
                out[item[0]] = walk(item[1], depth + 1)
            return out
        raise ValueError(f"malformed result tree node of type {t!r}")

    return walk(node, 0)


# --------------------------------------------------------------------------- the audit hook


class Blocked(PermissionError):
    """Raised into student code when the sandbox refuses an operation."""


# Modules graded code may not import, by any component of the dotted name:
# the reference and PyTorch (with a message of their own), and modules that
# read files from C (below the audit hook), share memory with other processes
# or run other interpreters (which would not see this process's audit hook).
# ``subprocess`` and ``socket`` may be imported (``numpy.testing`` and
# ``logging`` do): starting a process or opening a socket is what is blocked,
# by the audit hook and, underneath, by the seccomp filter.
REFERENCE_MODULES = {"rnncourse": "importing the reference implementation (rnncourse) is not "
                                  "allowed in graded code",
                     "torch": "importing torch is not allowed in graded code (use NumPy)"}
BLOCKED_MODULES = {"multiprocessing", "_multiprocessing", "_posixshmem", "_ssl", "ssl",
                   "_ctypes", "ctypes", "_sqlite3", "_dbm", "_gdbm", "readline", "pwd", "grp",
                   "spwd", "syslog", "_tkinter", "_curses", "pty", "_xxsubinterpreters",
                   "_xxinterpchannels", "_interpreters", "_interpchannels", "_interpqueues"}
BLOCKED_PREFIXES = ("_test", "_xx")

_PROCESS_EVENTS = {"os.system", "os.exec", "os.fork", "os.forkpty", "os.posix_spawn", "os.spawn",
                   "subprocess.Popen", "os.startfile", "pty.spawn"}
_SIGNAL_EVENTS = {"os.kill", "os.killpg", "signal.pthread_kill"}
_LIMIT_EVENTS = {"resource.setrlimit", "resource.prlimit"}
# event -> (positions of its paths, positions of its dir_fd arguments)
_WRITE_PATH_EVENTS = {"os.remove": ((0,), (1,)), "os.rmdir": ((0,), (1,)),
                      "os.mkdir": ((0,), (2,)), "os.rename": ((0, 1), (2, 3)),
                      "os.truncate": ((0,), ()), "os.utime": ((0,), (3,)),
                      "tempfile.mkstemp": ((0,), ()), "tempfile.mkdtemp": ((0,), ())}
_DENIED_EVENTS = {"os.symlink": "creating links", "os.link": "creating links",
                  "os.chmod": "changing file permissions", "os.chown": "changing file owners",
                  "os.chflags": "changing file flags", "os.setxattr": "changing file attributes",
                  "os.removexattr": "changing file attributes", "sys.addaudithook":
                  "installing audit hooks"}
_LIST_EVENTS = {"os.listdir", "os.scandir"}
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


class _ReferenceFinder:
    """A ``sys.meta_path`` finder that refuses the reference modules by name."""

    def __init__(self, guard: Guard) -> None:
        self.guard = guard

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        self.guard.on_import(name)  # blocks rnncourse / torch with their message
        return None


def _inside(path: str, roots: tuple[str, ...]) -> bool:
    return any(path == r or path.startswith(r.rstrip(os.sep) + os.sep) for r in roots)


class Guard:
    """The audit hook: blocks what graded code may not do and reports each attempt.

    Args:
        home: the sandbox directory (readable and writable).
        read: directories whose files may be read (NumPy, the standard library).
        listable: directories whose names may be listed (``read`` plus ``sys.path``);
            the entries of ``sys.path`` that are files (``python3XX.zip``) may be read.
        deny: directories that must not be read even inside ``read`` (the
            grader's package and checks).
        report: called with a one-line message for every blocked attempt,
            before the exception is raised.
        max_files: how many files may be opened for writing in all.
        kernel: Landlock confines the process. Then directories inside ``home``
            may be opened and used as ``dir_fd`` (``shutil.rmtree`` does): the
            kernel checks every path relative to them. Without it, the hook,
            which sees only the relative name, refuses them.
    """

    def __init__(self, home: str, read: tuple[str, ...], listable: tuple[str, ...],
                 deny: tuple[str, ...], report: Callable[[str], None], max_files: int,
                 kernel: bool = False) -> None:
        self.home = home
        self.kernel = kernel  # Landlock is on: the kernel checks paths relative to a dir fd
        self.read = (home, *read)
        self.listable = (home, *listable)
        files = {p for p in map(os.path.realpath, listable) if not os.path.isdir(p)}
        self.exact = files | {os.devnull, "/dev/urandom", "/dev/zero"}
        self.deny = deny
        self.report = report
        self.files_left = max_files
        self.realpath = os.path.realpath
        self.isdir = os.path.isdir
        self.getcwd = os.getcwd
        self.join = os.path.join
        self.fsdecode = os.fsdecode

    def block(self, message: str) -> None:
        self.report(message)
        raise Blocked(f"[blocked by the grader] {message}")

    def path(self, p: Any, what: str) -> str:
        if type(p) is bytes:
            p = self.fsdecode(p)
        if type(p) is not str:
            self.block(f"tried to {what} a path given as a {type(p).__name__}; "
                       f"graded code must use plain string paths")
        return self.realpath(self.join(self.getcwd(), p))

    def __call__(self, event: str, args: tuple) -> None:
        if event == "open":
            self.on_open(*args[:3])
        elif event == "import":
            self.on_import(args[0])
        elif event in _LIST_EVENTS:
            if args and args[0] is not None and type(args[0]) is not int:
                p = self.path(args[0], "list")
                if _inside(p, self.deny) or not _inside(p, self.listable):
                    self.block(f"tried to list the directory {p}, which graded code may not "
                               f"look into")
        elif event in _WRITE_PATH_EVENTS:
            paths, dir_fds = _WRITE_PATH_EVENTS[event]
            if not self.kernel and any(i < len(args) and args[i] not in (None, -1)
                                       for i in dir_fds):
                self.block(f"tried to change a file relative to a directory descriptor "
                           f"({event}), which graded code may not do")
            for i in paths:
                if i < len(args) and args[i] is not None and type(args[i]) is not int:
                    p = self.path(args[i], "change")
                    if not _inside(p, (self.home,)):
                        self.block(f"tried to change {p} ({event}): graded code may only write "
                                   f"in its own temporary directory")
        elif event == "os.chdir":
            if type(args[0]) is not int and not _inside(self.path(args[0], "enter"),
                                                        (self.home,)):
                self.block("tried to change the working directory")
        elif event in _PROCESS_EVENTS:
            self.block(f"tried to start a process ({event}), which graded code may not do")
        elif event in _SIGNAL_EVENTS:
            self.block(f"tried to send a signal ({event}), which graded code may not do")
        elif event in _LIMIT_EVENTS:
            self.block("tried to change the resource limits")
        elif event in _DENIED_EVENTS:
            self.block(f"tried {_DENIED_EVENTS[event]} ({event}), which graded code may not do")
        elif event.startswith("socket."):
            self.block(f"tried to use the network ({event}), which graded code may not do")
        elif event.startswith("ctypes."):
            self.block(f"tried to call C code through ctypes ({event}), which graded code may "
                       f"not do")
        elif event.startswith("sqlite3."):
            self.block(f"tried to open a database ({event}), which graded code may not do")

    def on_import(self, name: Any) -> None:
        if type(name) is not str:
            return
        parts = name.split(".")
        if parts[0] in REFERENCE_MODULES:
            self.block(f"tried to import {name}: {REFERENCE_MODULES[parts[0]]}")
        for part in parts:
            if part in BLOCKED_MODULES or part.startswith(BLOCKED_PREFIXES):
                self.block(f"tried to import {name}, which graded code may not use")

    def on_open(self, file: Any, mode: Any = None, flags: Any = 0) -> None:
        if type(file) is int:  # an already open descriptor
            return
        writing = isinstance(flags, int) and bool(flags & _WRITE_FLAGS)
        if isinstance(mode, str) and any(c in mode for c in "wax+"):
            writing = True
        p = self.path(file, "open")
        if self.isdir(p) and not (self.kernel and _inside(p, (self.home,))):
            # A directory descriptor would let os.open(..., dir_fd=fd) reach files that
            # the hook, which only sees the relative path, cannot locate.
            self.block(f"tried to open the directory {p}, which graded code may not do")
        if writing:
            if not _inside(p, (self.home,)) and p != os.devnull:
                self.block(f"tried to write to {p}: graded code may only write in its own "
                           f"temporary directory")
            self.files_left -= 1
            if self.files_left < 0:
                self.block("opened too many files for writing")
            return
        if _inside(p, self.deny):
            self.block(f"tried to read the grader's files ({p}), which graded code may not do")
        if not _inside(p, self.read) and p not in self.exact:
            self.block(f"tried to read {p}: graded code can only read NumPy and the Python "
                       f"standard library")


# --------------------------------------------------------------------------- limits


def _set_limits(limits: dict) -> list[str]:
    """Apply the resource limits; return the names of those this system refused."""
    import resource

    refused = []

    def cap(which: int, value: int) -> None:
        try:
            soft, hard = resource.getrlimit(which)
            if hard != resource.RLIM_INFINITY:
                value = min(value, hard)
            resource.setrlimit(which, (value, value))
        except (ValueError, OSError):  # e.g. RLIMIT_AS on macOS
            refused.append(str(which))

    base = 0
    try:  # the address space already in use (Python + NumPy), in bytes
        with open("/proc/self/statm") as f:
            base = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        pass
    cap(resource.RLIMIT_AS, base + int(limits["memory_mb"]) * (1 << 20))
    cap(resource.RLIMIT_CPU, int(limits["cpu_s"]))
    cap(resource.RLIMIT_FSIZE, int(limits["file_mb"]) * (1 << 20))
    cap(resource.RLIMIT_CORE, 0)
    cap(resource.RLIMIT_NOFILE, 64)  # with RLIMIT_FSIZE: bounds what deleted, open files hold
    import signal

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a too large write fails instead of killing
    return refused


# Kernel-enforced: system calls that graded code never needs. Numbers per architecture.
#
# ``deny``: refused outright (EPERM). Beyond processes, tracing, sockets, namespaces and
# IPC, that is everything that acts on *another* process without a signal -- scheduling
# (setpriority, sched_set*, ioprio_set), memory placement (migrate_pages, move_pages) --
# the whole chmod / chown / utime / xattr family (graded code has no need for file
# metadata, and Landlock has no hook for it: as root, chmod 04777 on a grader file would
# otherwise make a setuid binary), memfd_create / memfd_secret (anonymous files are not
# counted by RLIMIT_AS) and setrlimit. ``self``: allowed only with the sandbox's own pid as
# the first argument (kill, tgkill, rt_sigqueueinfo, rt_tgsigqueueinfo). ``prlimit64``:
# allowed only to read the sandbox's own limits (pid 0 or its own, no new limit) -- the
# fork server, the grader and other sandboxes are out of reach, and no limit can be
# raised (or lowered: nothing a sandbox does persists anywhere else).
_SECCOMP = {
    "x86_64": dict(
        arch=0xC000003E, clone=56, clone3=435, prlimit64=302, x32=True,
        self=(62, 234, 129, 297),  # kill, tgkill, rt_sigqueueinfo, rt_tgsigqueueinfo
        deny=(57, 58, 59, 322,  # fork, vfork, execve, execveat
              101, 310, 311,  # ptrace, process_vm_readv/writev
              200, 424, 434, 438,  # tkill, pidfd_send_signal, pidfd_open, pidfd_getfd
              41, 42, 49,  # socket, connect, bind
              425, 426, 427, 321, 298, 323,  # io_uring_*, bpf, perf_event_open, userfaultfd
              272, 308, 165, 166, 155, 161,  # unshare, setns, mount, umount2, pivot_root, chroot
              303, 304, 133, 259, 312,  # name_to/open_by_handle_at, mknod, mknodat, kcmp
              246, 320, 175, 313, 176, 169, 167, 168, 135, 440, 250, 248, 249,
              29, 30, 31, 64, 65, 66, 68, 69, 70, 71, 220,  # System V shared memory, IPC
              240, 241, 242, 243, 244, 245,  # POSIX message queues
              160, 141, 142, 144, 203, 314, 251,  # setrlimit, setpriority, sched_set*, ioprio_set
              256, 279, 448,  # migrate_pages, move_pages, process_mrelease
              90, 91, 268, 452, 92, 93, 94, 260,  # chmod family, chown family
              132, 235, 261, 280,  # utime, utimes, futimesat, utimensat
              188, 189, 190, 197, 198, 199, 463, 466,  # setxattr / removexattr family
              319, 447)),  # memfd_create, memfd_secret
    "aarch64": dict(
        arch=0xC00000B7, clone=220, clone3=435, prlimit64=261, x32=False,
        self=(129, 131, 138, 240),  # kill, tgkill, rt_sigqueueinfo, rt_tgsigqueueinfo
        deny=(221, 281, 117, 270, 271, 130, 424, 434, 438, 198, 203, 200,
              425, 426, 427, 280, 241, 282, 97, 268, 40, 39, 41, 51, 264, 265, 33, 272,
              186, 187, 188, 189, 190, 191, 192, 193, 194, 195, 196,  # System V IPC
              180, 181, 182, 183, 184, 185,  # POSIX message queues
              164, 140, 118, 119, 122, 274, 30,  # setrlimit, setpriority, sched_set*, ioprio_set
              238, 239, 448,  # migrate_pages, move_pages, process_mrelease
              52, 53, 452, 54, 55,  # fchmod, fchmodat, fchmodat2, fchownat, fchown
              88,  # utimensat
              5, 6, 7, 14, 15, 16, 463, 466,  # setxattr / removexattr family
              279, 447)),  # memfd_create, memfd_secret
}


def _seccomp_program(spec: dict, pid: int) -> list[tuple[int, int, int, int]]:
    """The classic-BPF filter as (code, jt, jf, k) instructions.

    Every jump goes forward to one of the terminal instructions at the end;
    a system call that no check catches falls through to "allow". ``pid`` is the
    sandbox's own process id, baked in: the filter is installed by the sandbox itself,
    after the fork, so each sandbox's filter names that sandbox and nothing else.
    """
    LD, JEQ, JGE, JSET, RET = 0x20, 0x15, 0x35, 0x45, 0x06
    terminal = {"allow": 0x7FFF0000, "eperm": 0x00050000 | 1, "enosys": 0x00050000 | 38,
                "kill": 0x80000000}
    CLONE_THREAD = 0x00010000
    code: list[tuple[int, int, str | None, str | None]] = []  # (op, k, jump if true, if false)

    code += [(LD, 4, None, None),  # seccomp_data.arch
             (JEQ, spec["arch"], None, "kill"),  # a foreign-ABI call (int 0x80): never legitimate
             (LD, 0, None, None)]  # seccomp_data.nr
    if spec["x32"]:
        code.append((JGE, 0x40000000, "eperm", None))
    code += [(JEQ, nr, "eperm", None) for nr in spec["deny"]]
    code += [(JEQ, spec["clone3"], "enosys", None),  # glibc then falls back to clone()
             (JEQ, spec["clone"], "clone", None),
             *[(JEQ, nr, "self", None) for nr in spec["self"]],
             (JEQ, spec["prlimit64"], "prlimit", None),
             (RET, terminal["allow"], None, None)]
    labels = {"clone": len(code)}
    code += [(LD, 16, None, None),  # low word of args[0]: the clone flags
             (JSET, CLONE_THREAD, "allow", "eperm")]  # a thread, not a new process
    labels["self"] = len(code)
    code += [(LD, 16, None, None),  # args[0]: the pid a signal goes to
             (JEQ, pid, "allow", "eperm")]  # only this process itself
    labels["prlimit"] = len(code)
    code += [(LD, 32, None, None),  # args[2], the new limit: a NULL pointer only (read only)
             (JEQ, 0, None, "eperm"),
             (LD, 36, None, None),
             (JEQ, 0, None, "eperm"),
             (LD, 16, None, None),  # args[0] (a pid_t: its low word is what the kernel reads)
             (JEQ, 0, "allow", None),  # 0: this process
             (JEQ, pid, "allow", "eperm")]  # or its own pid; never another process
    for name, value in terminal.items():
        labels[name] = len(code)
        code.append((RET, value, None, None))
    prog = []
    for i, (op, k, jt, jf) in enumerate(code):
        prog.append((op, labels[jt] - i - 1 if jt else 0, labels[jf] - i - 1 if jf else 0, k))
    return prog


def _drop_capabilities() -> None:
    """Give up every capability (a grader run as root): uid 0 keeps no privilege in here.

    With no capability, root in a sandbox cannot raise a hard limit, read past file
    modes, or act on files and processes of other users; with ``no_new_privs`` set and
    ``execve`` refused, nothing gives them back. (Processes of the same uid are kept
    out of reach by the seccomp filter, files by Landlock.)
    """
    import ctypes

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                    ("inheritable", ctypes.c_uint32)]

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        data = (Data * 2)()  # all zero: no capability at all
        libc.capset(ctypes.byref(Header(0x20080522, 0)), data)  # _LINUX_CAPABILITY_VERSION_3
    except (OSError, AttributeError):
        pass


def _install_seccomp() -> str:
    """Install the seccomp filter; return "on" or why it is not on."""
    if not sys.platform.startswith("linux"):
        return "unavailable (not Linux)"
    machine = os.uname().machine
    spec = _SECCOMP.get(machine)
    if spec is None:
        return f"unavailable (no system call table for {machine})"
    prog = _seccomp_program(spec, os.getpid())
    if any(not (0 <= jt <= 255 and 0 <= jf <= 255) for _, jt, jf, _ in prog):
        return "unavailable (filter too long)"
    import ctypes

    class SockFilter(ctypes.Structure):
        _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte),
                    ("k", ctypes.c_uint32)]

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(SockFilter))]

    filters = (SockFilter * len(prog))(*[SockFilter(c, jt, jf, k) for c, jt, jf, k in prog])
    fprog = SockFprog(len(prog), filters)
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
        prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong,
                          ctypes.c_ulong]
        prctl.restype = ctypes.c_int
        if prctl(38, 1, None, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
            return f"unavailable (no_new_privs: errno {ctypes.get_errno()})"
        # PR_SET_SECCOMP, SECCOMP_MODE_FILTER
        if prctl(22, 2, ctypes.cast(ctypes.byref(fprog), ctypes.c_void_p), 0, 0) != 0:
            return f"unavailable (PR_SET_SECCOMP: errno {ctypes.get_errno()})"
    except (OSError, AttributeError) as exc:
        return f"unavailable ({exc})"
    return "on"


# --------------------------------------------------------------------------- Landlock
#
# The kernel's own file-system sandbox (Linux >= 5.13, no privileges needed). Once the
# child calls landlock_restrict_self, every open() it makes -- from Python, NumPy, ctypes
# or raw system calls alike -- is checked by the kernel against the rules below: read the
# standard library, NumPy and the shared libraries the interpreter loads; read and write
# its own directory; nothing else (no /proc, no other sandbox, no grader file). The rules
# cannot be loosened afterwards by anything in the process, and ptrace-like access to any
# process outside the domain (/proc/<pid>/environ, /proc/<pid>/mem) is refused as well.

_LL_CREATE, _LL_ADD_RULE, _LL_RESTRICT = 444, 445, 446  # the same on every architecture
_LL_READ_FILE, _LL_READ_DIR = 1 << 2, 1 << 3
_LL_WRITE_FILE, _LL_TRUNCATE = 1 << 1, 1 << 14
_LL_FILE_RIGHTS = 1 | _LL_WRITE_FILE | _LL_READ_FILE | _LL_TRUNCATE | (1 << 15)


def _ll_fs_rights(abi: int) -> int:
    """The file-system rights that Landlock ABI ``abi`` knows (and so can refuse)."""
    return (1 << (13 if abi == 1 else 14 if abi == 2 else 15 if abi < 5 else 16)) - 1


def _syscall() -> Any:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    fn = libc.syscall
    fn.restype = ctypes.c_long
    return fn


def landlock_abi() -> int:
    """The kernel's Landlock ABI version, or 0 where it has none (or this is not Linux)."""
    if not sys.platform.startswith("linux"):
        return 0
    import ctypes

    try:
        abi = _syscall()(ctypes.c_long(_LL_CREATE), ctypes.c_void_p(None), ctypes.c_size_t(0),
                         ctypes.c_uint32(1))  # LANDLOCK_CREATE_RULESET_VERSION
    except (OSError, AttributeError):
        return 0
    return max(0, int(abi))


def landlock_plan(read: list[str], deny: list[str], soft_deny: list[str] = ()) -> list[
        tuple[str, str]]:
    """The read rules: ``(path, "read")`` for a whole tree, ``(path, "list")`` for names only.

    Every path under ``read`` becomes readable except what lies under ``deny`` (the
    grader's package and checks: never readable) and ``soft_deny`` (installed packages:
    not readable through an ancestor, but a ``read`` root inside one -- NumPy in
    site-packages -- is). Landlock rules cover whole trees and cannot exclude a
    subtree, so a root that holds a denied path is split: the root itself gets
    "list", and each of its entries is planned in turn.
    """
    hard = [os.path.realpath(d) for d in deny]
    soft = [os.path.realpath(d) for d in soft_deny]
    out: list[tuple[str, str]] = []
    seen: set[str] = set()

    def plan(p: str, explicit: bool) -> None:
        p = os.path.realpath(p)
        if p in seen or not os.path.exists(p) or _inside(p, tuple(hard)):
            return
        if not explicit and _inside(p, tuple(soft)):
            return
        seen.add(p)
        prefix = p.rstrip(os.sep) + os.sep
        if not any(d.startswith(prefix) for d in hard + soft) or not os.path.isdir(p):
            out.append((p, "read"))
            return
        out.append((p, "list"))
        try:
            names = sorted(os.listdir(p))
        except OSError:  # unreadable: nothing in it is granted
            names = []
        for name in names:
            plan(os.path.join(p, name), False)

    for root in read:
        plan(root, True)
    return out


def _shared_library_dirs() -> list[str]:
    """Folders of the shared libraries this process has loaded (they may load more)."""
    dirs = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                parts = line.split(None, 5)
                path = parts[5].strip() if len(parts) == 6 else ""
                name = os.path.basename(path)
                if path.startswith("/") and (name.endswith(".so") or ".so." in name):
                    dirs.add(os.path.dirname(path))
    except OSError:
        pass
    return sorted(dirs)


def _install_landlock(plan: list[tuple[str, str]], home: str, files: list[str],
                      max_abi: int | None = None) -> str:
    """Restrict this process (and any thread) for good; return "on (ABI n)" or why not.

    ``max_abi`` uses no Landlock feature newer than that ABI, as an older kernel would
    (Ubuntu 24.04's 6.8 has ABI 4: no signal scoping); the tests emulate such kernels.
    """
    abi = landlock_abi()
    if max_abi is not None:
        abi = min(abi, max_abi)
    if abi < 1:
        return "unavailable (this kernel has no Landlock)"
    import ctypes

    class RulesetAttr(ctypes.Structure):
        _fields_ = [("fs", ctypes.c_uint64), ("net", ctypes.c_uint64),
                    ("scoped", ctypes.c_uint64)]

    class PathBeneath(ctypes.Structure):
        _pack_ = 1
        _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]

    syscall = _syscall()
    handled = _ll_fs_rights(abi)
    attr = RulesetAttr(handled, 3 if abi >= 4 else 0,  # TCP bind and connect: refused
                       3 if abi >= 6 else 0)  # abstract sockets, signals: this domain only
    size = 8 if abi < 4 else 16 if abi < 6 else 24
    ruleset = syscall(ctypes.c_long(_LL_CREATE), ctypes.byref(attr), ctypes.c_size_t(size),
                      ctypes.c_uint32(0))
    if ruleset < 0:
        return f"unavailable (landlock_create_ruleset: errno {ctypes.get_errno()})"
    O_PATH = getattr(os, "O_PATH", 0o10000000)

    def allow(path: str, rights: int) -> None:
        try:
            fd = os.open(path, O_PATH | os.O_CLOEXEC)
        except OSError:
            return
        try:
            if not os.path.isdir(path):
                rights &= _LL_FILE_RIGHTS
            rule = PathBeneath(rights & handled, fd)
            if syscall(ctypes.c_long(_LL_ADD_RULE), ctypes.c_long(ruleset), ctypes.c_long(1),
                       ctypes.byref(rule), ctypes.c_uint32(0)) != 0:
                raise OSError(ctypes.get_errno(), f"landlock_add_rule {path}")
        finally:
            os.close(fd)

    try:
        for path, kind in plan:
            allow(path, _LL_READ_DIR if kind == "list" else _LL_READ_FILE | _LL_READ_DIR)
        for path in files:
            allow(path, _LL_READ_FILE | _LL_WRITE_FILE | _LL_TRUNCATE)
        allow(home, handled)
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS, needed without privileges
            return f"unavailable (no_new_privs: errno {ctypes.get_errno()})"
        if syscall(ctypes.c_long(_LL_RESTRICT), ctypes.c_long(ruleset), ctypes.c_uint32(0)) != 0:
            return f"unavailable (landlock_restrict_self: errno {ctypes.get_errno()})"
    except OSError as exc:
        return f"unavailable ({exc})"
    finally:
        os.close(ruleset)
    return f"on (ABI {abi})"


# --------------------------------------------------------------------------- running the code


def _text(obj: Any, limit: int = 500) -> str:
    try:
        s = str(obj)
    except BaseException:  # noqa: BLE001 -- a student __str__ may raise anything
        s = "<unprintable>"
    return s if len(s) <= limit else s[: limit - 3] + "..."


def _describe_error(exc: BaseException, sources: dict[str, list[str]]) -> dict:
    """What the grader needs to explain an exception, without the traceback module."""
    where = None
    tb = exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        fname = code.co_filename
        if fname.startswith("<cell ") and fname.endswith(">"):
            cell = fname[6:-1]
            lines = sources.get(cell, [])
            line = tb.tb_lineno
            where = {"cell": cell, "function": code.co_name, "line": line,
                     "text": lines[line - 1].strip()[:200] if 0 < line <= len(lines) else ""}
        tb = tb.tb_next
    info = {"type": type(exc).__name__, "message": _text(exc), "where": where,
            "not_implemented": isinstance(exc, NotImplementedError),
            "memory": isinstance(exc, MemoryError), "exit": isinstance(exc, SystemExit),
            "blocked": isinstance(exc, Blocked)}
    if isinstance(exc, SystemExit):
        info["message"] = _text(exc.code, 100)
    if isinstance(exc, SyntaxError):
        info["where"] = {"cell": _text(exc.filename)[6:-1], "function": "", "line": exc.lineno,
                         "text": _text(exc.text, 200).strip()}
        info["message"] = _text(exc.msg)
    return info


def without_magics(source: str) -> str:
    """Notebook cells may hold IPython magics (``%time``, ``!pip``): turn them into ``pass``."""
    out = []
    for line in source.splitlines(keepends=True):
        body = line.lstrip()
        if body.startswith(("%", "!")):
            line = line[: len(line) - len(body)] + "pass\n"
        out.append(line)
    return "".join(out)


def _input_arrays(value: Any, depth: int = 0) -> list[np.ndarray]:
    """The arrays in a case value (lists and tuples searched, two levels deep)."""
    if isinstance(value, np.ndarray):
        return [value]
    if isinstance(value, (list, tuple, dict)) and depth < 2:
        items = value.values() if isinstance(value, dict) else value
        return [a for v in items for a in _input_arrays(v, depth + 1)]
    return []


def _brief(value: Any) -> str:
    """A student-facing description of an argument: ``array (2, 3) float64``, ``1e-05``."""
    if isinstance(value, np.ndarray):
        return f"array {value.shape} {value.dtype}"
    if isinstance(value, (bool, int, float, str)) or value is None:
        return _text(repr(value), 40)
    if callable(value):
        return "a function"
    if isinstance(value, (list, tuple)):
        return f"{type(value).__name__} of {len(value)}"
    return type(value).__name__


class Watch:
    """Wraps the student's functions to see what the grader's messages need.

    For every call: which of the grader's input arrays (or views of them) the
    function was given, under the student's own parameter names, and whether it
    changed any of them in place; which of the student's functions ran; and the
    arguments of the first call of the graded function.
    """

    def __init__(self, rtol: float, atol: float) -> None:
        self.rtol, self.atol = rtol, atol
        self.inputs: list[np.ndarray] = []
        self.changed: list[list[str]] = []  # [function, parameter], first first
        self.changed_arrays: list[np.ndarray] = []  # the arrays they changed
        self.called: set[str] = set()
        self.args: list[list[str]] | None = None
        self.graded = ""

    def start(self, case: dict, graded: str) -> None:
        self.inputs = _input_arrays(case)
        self.changed, self.called, self.args, self.graded = [], set(), None, graded
        self.changed_arrays = []

    def _is_input(self, a: np.ndarray) -> bool:
        return any(np.may_share_memory(a, i) for i in self.inputs)

    def same(self, now: np.ndarray, before: np.ndarray) -> bool:
        if now.shape != before.shape:
            return False
        if now.dtype.kind in "fc":
            return bool(np.allclose(now, before, rtol=self.rtol, atol=self.atol, equal_nan=True))
        return bool(np.array_equal(now, before))

    def wrap(self, name: str, fn: Callable) -> Callable:
        try:
            params = list(inspect.signature(fn).parameters)
        except (TypeError, ValueError):
            params = []
        watch = self

        def watched(*args: Any, **kwargs: Any) -> Any:
            labelled = [(params[i] if i < len(params) else f"argument {i + 1}", a)
                        for i, a in enumerate(args)] + list(kwargs.items())
            if name == watch.graded and watch.args is None:
                watch.args = [[str(k), _brief(a)] for k, a in labelled]
            kept = []
            for label, a in labelled:
                parts = [(label, a)] if isinstance(a, np.ndarray) else [
                    (f"{label}[{j}]", x) for j, x in enumerate(a)
                    if isinstance(x, np.ndarray)] if isinstance(a, (list, tuple)) else []
                kept += [(lab, x, x.copy()) for lab, x in parts if watch._is_input(x)]
            watch.called.add(name)
            try:
                return fn(*args, **kwargs)
            finally:
                for label, x, before in kept:
                    if watch.same(x, before) or [name, label] in watch.changed:
                        continue
                    if any(np.may_share_memory(x, c) for c in watch.changed_arrays):
                        continue  # a function it called changed it: that one is named
                    watch.changed.append([name, str(label)])
                    watch.changed_arrays.append(x)

        watched.__name__ = watched.__qualname__ = name
        watched.__wrapped__ = fn  # type: ignore[attr-defined]
        return watched


def run(job: dict, cases: list[dict]) -> tuple[dict, dict[str, np.ndarray]]:
    """Run the job's cells and its call on every case; return (status, arrays)."""
    ns: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins}
    sources: dict[str, list[str]] = {c["name"]: c["source"].splitlines() for c in job["cells"]}
    status: dict[str, Any] = {"setup_error": None, "cases": []}
    arrays: dict[str, np.ndarray] = {}
    try:
        exec(compile(job["helpers"], "<helpers>", "exec"), ns)  # trusted, from the spec
    except BaseException as exc:  # noqa: BLE001
        status["setup_error"] = {"stage": "helpers", "cell": None, **_describe_error(exc, {})}
        return status, arrays
    for cell in job["cells"]:
        name, source = cell["name"], cell["source"]
        try:
            try:
                code = compile(source, f"<cell {name}>", "exec")
            except SyntaxError:
                code = compile(without_magics(source), f"<cell {name}>", "exec")
            before = set(ns)
            exec(code, ns)
            cell["defined"] = sorted(k for k in set(ns) - before if callable(ns[k]))
        except BaseException as exc:  # noqa: BLE001 -- SystemExit and MemoryError included
            stage = "syntax" if isinstance(exc, SyntaxError) else "cell"
            status["setup_error"] = {"stage": stage, "cell": name, **_describe_error(exc, sources)}
            return status, arrays
    for cell in job["cells"]:
        fn = cell["function"]
        if not callable(ns.get(fn)):
            status["setup_error"] = {"stage": "undefined", "cell": cell["name"], "function": fn,
                                     "defined": cell.get("defined", [])[:20]}
            return status, arrays
    call = compile(job["call"], "<call>", "eval")
    outputs = job["outputs"]
    watch = Watch(float(job.get("rtol", 0.0)), float(job.get("atol", 0.0)))
    import threading

    thread_errors: list[str] = []
    previous_hook = threading.excepthook

    def thread_hook(args: Any) -> None:  # an exception that ended one of the student's threads
        if len(thread_errors) < 10:
            thread_errors.append(type(args.exc_value).__name__)
        previous_hook(args)

    threading.excepthook = thread_hook
    for cell in job["cells"]:
        ns[cell["function"]] = watch.wrap(cell["function"], ns[cell["function"]])
    for index, case in enumerate(cases):
        scope = dict(ns)
        scope.update(case)
        watch.start(case, job.get("function", ""))
        snapshot = {k: [a.copy() for a in _input_arrays(v)] for k, v in case.items()}
        try:
            value = eval(call, scope)
            changed = list(watch.changed)
            for k, v in case.items():  # changed by code that the wrappers did not see
                if not changed and any(not watch.same(a, b) for a, b in
                                       zip(_input_arrays(v), snapshot[k], strict=True)):
                    changed.append(["", k])
            if changed:
                status["cases"].append({"inplace": changed, "called": sorted(watch.called),
                                        "args": watch.args})
                continue
            if len(outputs) == 1:
                node = encode(value, arrays, outputs[0], prefix=f"c{index}_")
            else:
                if not isinstance(value, (tuple, list)) or len(value) != len(outputs):
                    got = (f"a {type(value).__name__} of {len(value)} items"
                           if isinstance(value, (tuple, list)) else _describe(value))
                    raise Unsupported(f"returned {got}, expected {len(outputs)} outputs "
                                      f"({', '.join(outputs)})")
                pairs = enumerate(zip(value, outputs, strict=True))
                node = {"t": "tuple", "v": [encode(v, arrays, o, prefix=f"c{index}_{k}_")
                                            for k, (v, o) in pairs]}
            status["cases"].append({"ok": node})
        except Unsupported as exc:
            status["cases"].append({"error": {"type": "Unsupported", "message": str(exc),
                                              "unsupported": True}})
        except BaseException as exc:  # noqa: BLE001
            status["cases"].append({"error": _describe_error(exc, sources)})
        status["cases"][-1].update(called=sorted(watch.called), args=watch.args)
        if thread_errors:
            status["cases"][-1]["thread_errors"] = list(thread_errors)
            thread_errors.clear()
    return status, arrays


def _write_all(fd: int, data: bytes, write: Callable[[int, bytes], int]) -> None:
    view = memoryview(data)
    while view:
        view = view[write(fd, view):]


def _read_input(stdin: Any) -> tuple[str, dict, dict[str, np.ndarray]]:
    """The nonce, the job and the cases, from the pipe the grader holds (no shared files)."""
    header = stdin.readline().split()
    nonce, n_job, n_npz = header[0].decode("ascii"), int(header[1]), int(header[2])
    job = json.loads(stdin.read(n_job).decode("utf-8"))
    import io

    with np.load(io.BytesIO(stdin.read(n_npz)), allow_pickle=False) as data:
        case_arrays = {k: data[k] for k in data.files}
    return nonce, job, case_arrays


def _plan_for(job: dict) -> list[tuple[str, str]]:
    return landlock_plan(list(job["ll_read"]) + _shared_library_dirs(), list(job["deny"]),
                         list(job["soft_deny"]))


def _lock_down(job: dict, home: str, plan: list | None = None) -> tuple[str, str]:
    """Landlock then seccomp; return their states. Exits if Landlock is required but off."""
    import ctypes

    ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE 0: no /proc/<pid>/mem for anyone
    if plan is None:
        plan = _plan_for(job)
    max_abi = job.get("landlock_max_abi")
    landlock = _install_landlock(plan, home, [os.devnull],
                                 None if max_abi is None else int(max_abi))
    if not landlock.startswith("on") and job["require_landlock"]:
        os.write(2, f"rnncourse sandbox: Landlock {landlock}; refusing to run graded code "
                    f"without it\n".encode())
        os._exit(SANDBOX_REFUSED)
    _drop_capabilities()
    seccomp = _install_seccomp()
    if seccomp != "on":  # no new processes; but this also stops threads, which seccomp allows
        import resource

        try:
            if os.geteuid() != 0:  # (root is exempt from RLIMIT_NPROC)
                resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))
        except (ValueError, OSError, AttributeError):
            pass
    return landlock, seccomp


def main(plan: list | None = None) -> None:
    write, exit_, dumps = os.write, os._exit, json.dumps
    nonce, job, case_arrays = _read_input(sys.stdin.buffer)
    home = os.path.realpath(os.getcwd())
    cases = [decode(c, case_arrays) for c in job["cases"]]
    report_fd = job["report_fd"]  # a pipe to the grader: blocked attempts, as they happen
    result_fd = job["result_fd"]  # a pipe to the grader: the status and the arrays, at the end
    import io
    import zipfile  # noqa: F401 -- used by np.savez; imported before the hook

    savez = np.savez
    BytesIO = io.BytesIO

    def report(message: str) -> None:
        try:
            _write_all(report_fd, (dumps({"nonce": nonce, "blocked": message}) + "\n").encode(),
                       write)
        except OSError:
            pass

    refused = _set_limits(job["limits"])
    landlock, seccomp = _lock_down(job, home, plan)
    guard = Guard(home, tuple(job["read"]), tuple(job["listable"]) + tuple(sys.path),
                  tuple(job["deny"]), report, int(job["limits"]["max_files"]),
                  kernel=landlock.startswith("on"))
    sys.addaudithook(guard)
    # The "import" audit event fires for the import statement, not for
    # importlib.import_module, so a finder gives that route the same clear
    # message. (Removing it gains nothing: rnncourse is not on sys.path, and
    # Landlock refuses to open its files.)
    sys.meta_path.insert(0, _ReferenceFinder(guard))
    sys.stdin = None  # type: ignore[assignment]
    streams = (sys.stdout, sys.stderr)
    status, arrays = run(job, cases)
    for stream in streams:  # os._exit below does not flush what the student printed
        try:
            stream.flush()
        except BaseException:  # noqa: BLE001, S110 -- a closed or replaced stream
            pass
    status["nonce"] = nonce
    status["seccomp"] = seccomp
    status["landlock"] = landlock
    status["limits_refused"] = refused
    try:
        buf = BytesIO()
        savez(buf, **arrays)
        data = buf.getvalue()
        head = dumps(status, allow_nan=True).encode()
        _write_all(result_fd, len(head).to_bytes(8, "little") + head
                   + len(data).to_bytes(8, "little") + data, write)
    except MemoryError:  # e.g. a thread of the student's still holds all the memory
        exit_(OUT_OF_MEMORY)
    except BaseException:  # noqa: BLE001 -- e.g. the student broke numpy or the pipe
        exit_(WRITE_FAILED)
    exit_(0)


# --------------------------------------------------------------------------- the fork server
#
# Importing NumPy is most of a fresh interpreter's start-up (0.1 s on a quiet machine,
# more on a busy one). The grader therefore starts this file once per grading run as a
# fork server: it imports NumPy, the modules the sandbox needs and plans the Landlock
# rules, then forks one child per job. Each child starts from that clean state (no
# student code ever ran in the server), takes its pipes from the grader, enters its own
# session and private directory, and goes through main() exactly as a fresh process
# would: limits, Landlock, seccomp, hook, then the student's code.

CHILD_FDS = 5  # stdin, stdout, stderr, the report pipe and the result pipe, in that order


def _child(request: dict, fds: list[int], plan: list) -> None:
    """In a forked child: take the job's pipes and folder, then run it (never returns)."""
    try:
        import fcntl

        high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 100) for fd in fds]
        for target, fd in enumerate(high):
            os.dup2(fd, target)  # 0-2: stdio; 3, 4: the report and result pipes (inheritable)
        os.closerange(CHILD_FDS, 1 << 16)  # the server's socket and everything else
        os.setsid()  # its own process group, which the grader kills as a whole
        home = request["home"]
        os.chdir(home)
        os.environ["HOME"] = os.environ["TMPDIR"] = home
        main(plan)
    except BaseException:  # noqa: BLE001 -- nothing may return into the server's loop
        pass
    os._exit(70)


def serve(sock_fd: int, config: dict) -> None:
    """The server loop: a request (JSON + the child's pipes) in, a fork, its pid and exit out."""
    import ctypes  # noqa: F401 -- imported once here, for every child's Landlock and seccomp
    import select
    import socket

    sock = socket.socket(fileno=sock_fd)
    plan = _plan_for(config)
    children: dict[int, int] = {}
    while True:
        ready, _, _ = select.select([sock], [], [], 0.002 if children else None)
        if ready:
            try:
                msg, fds, _, _ = socket.recv_fds(sock, 65536, CHILD_FDS)
            except OSError:
                break
            if not msg:
                break  # the grader is done
            request = json.loads(msg)
            if len(fds) != CHILD_FDS:
                for fd in fds:
                    os.close(fd)
                sock.send(json.dumps({"id": request["id"], "error": "bad request"}).encode())
                continue
            pid = os.fork()
            if pid == 0:
                _child(request, fds, plan)
            for fd in fds:
                os.close(fd)
            children[pid] = request["id"]
            sock.send(json.dumps({"id": request["id"], "pid": pid}).encode())
        while children:
            pid, status, usage = os.wait4(-1, os.WNOHANG)
            if pid == 0:
                break
            sock.send(json.dumps({
                "id": children.pop(pid), "exit": os.waitstatus_to_exitcode(status),
                "maxrss": usage.ru_maxrss, "cpu": usage.ru_utime + usage.ru_stime}).encode())
    os._exit(0)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        serve(int(os.environ.pop("RNNCOURSE_SERVER_FD")),
              json.loads(os.environ.pop("RNNCOURSE_SERVER_CONFIG")))
    else:
        main()
