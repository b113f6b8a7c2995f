"""Running one sandbox from the grader's side, and reading back what it returned.

:func:`run_sandbox` has :mod:`rnncourse.grading.sandbox` forked by a
:class:`SandboxServer` (or, without one, started afresh) in a new session, in
its own private temporary directory, with an environment built from scratch and
no file descriptors but its five pipes; it enforces the wall-clock limit
(killing the whole group) and caps what it keeps of stdout and stderr, so that
an output flood costs neither memory nor disk. The job goes in over stdin; the
results come back over a pipe and are read as data only: the JSON status with a
size limit and the arrays through :func:`parse_npz`, which parses the ``.npz``
by hand (``allow_pickle`` never enters into it) and refuses anything but plain
numeric arrays of the declared size. :func:`trusted_paths` says what the
kernel's Landlock rules let a sandbox read.
"""

from __future__ import annotations

import io
import json
import math
import os
import secrets
import selectors
import shutil
import signal
import site
import socket
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import sandbox
from .notebook import NotebookError, read_bytes

__all__ = ["Limits", "SandboxRun", "SandboxServer", "run_sandbox", "read_npz", "parse_npz",
           "trusted_paths"]

SANDBOX = Path(sandbox.__file__).resolve()
TAIL = 4096  # bytes of stdout / stderr kept for messages
MAX_STATUS_BYTES = 8 << 20
MAX_RESULT_BYTES = 80 << 20
REAP_TIMEOUT = 5.0  # seconds to wait for a killed child's exit before giving up on it
START_TIMEOUT = 10.0  # seconds for the fork server to start a child
QUOTA_EVERY = 0.02  # seconds between two looks at a sandbox's folder


@dataclass(frozen=True)
class Limits:
    """Limits of one sandbox run (one exercise of one submission)."""

    timeout: float = 10.0  # seconds of wall-clock time
    memory_mb: int = 512  # MB of memory on top of Python and NumPy
    max_output: int = 1 << 20  # bytes of stdout + stderr
    file_mb: int = 16  # MB per file written
    max_files: int = 32  # files opened for writing; also files and folders in its folder
    disk_mb: int = 64  # MB in its folder, all files together

    def job(self) -> dict:
        return dict(memory_mb=self.memory_mb, cpu_s=math.ceil(self.timeout) + 1,
                    file_mb=self.file_mb, max_files=self.max_files)


@dataclass
class SandboxRun:
    """What came back from one sandbox run."""

    status: dict | None = None  # the checked status record, or None
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    problem: str = ""  # why there is no usable status
    blocked: list[str] = field(default_factory=list)  # blocked attempts, first first
    timed_out: bool = False
    flooded: bool = False
    exit_code: int | None = None  # negative: killed by that signal
    max_rss_mb: float = 0.0
    cpu_s: float = 0.0
    stdout: str = ""
    stderr: str = ""
    seconds: float = 0.0
    result: bytes = b""  # what came through the result pipe (dropped once read)


def _real(p: str | os.PathLike) -> str:
    return os.path.realpath(os.fspath(p))


def trusted_paths(tests_dir: Path | None = None, *,
                  require_landlock: bool = True) -> dict[str, Any]:
    """What the sandbox may read and list, and what it must never read.

    ``read``/``listable``/``deny`` drive the audit hook (friendly messages);
    ``ll_read``/``deny``/``soft_deny`` drive the Landlock rules (the kernel's
    enforcement): the standard library, NumPy, the system's shared libraries and
    a few device files, but never the grader's package or checks, nor any other
    installed package.
    """
    import rnncourse

    numpy_dir = Path(np.__file__).resolve().parent
    read = {_real(numpy_dir), _real(os.path.dirname(os.__file__))}
    for key in ("stdlib", "platstdlib"):
        path = sysconfig.get_path(key)
        if path:
            read.add(_real(path))
    libs = numpy_dir.parent / "numpy.libs"
    if libs.is_dir():
        read.add(_real(libs))
    deny = {_real(Path(rnncourse.__file__).resolve().parent)}
    if tests_dir is not None:
        deny.add(_real(tests_dir))
    ll_read = set(read)
    multiarch = sysconfig.get_config_var("MULTIARCH") or ""
    for folder in ("/lib", "/usr/lib", "/lib64", "/usr/lib64"):
        if multiarch and os.path.isdir(os.path.join(folder, multiarch)):
            ll_read.add(_real(os.path.join(folder, multiarch)))
    ll_read |= {p for p in ("/etc/ld.so.cache", "/dev/zero", "/dev/urandom", "/dev/random")
                if os.path.exists(p)}
    soft = set()
    base = {"base": sys.base_prefix, "platbase": sys.base_exec_prefix}
    for folder in [*site.getsitepackages(), site.getusersitepackages(),
                   sysconfig.get_path("purelib"), sysconfig.get_path("platlib"),
                   sysconfig.get_path("purelib", vars=base),
                   sysconfig.get_path("platlib", vars=base)]:
        if folder:
            soft.add(_real(folder))
    return dict(read=sorted(read), listable=sorted(read | {_real(numpy_dir.parent)}),
                deny=sorted(deny), sys_path=[_real(numpy_dir.parent)],
                ll_read=sorted(ll_read), soft_deny=sorted(soft),
                require_landlock=require_landlock, landlock_max_abi=_landlock_max_abi())


def _landlock_max_abi() -> int | None:
    """``RNNCOURSE_LANDLOCK_MAX_ABI``: use no Landlock feature newer than this ABI.

    For tests that emulate an older kernel (ABI < 6: no signal scoping) on a new one;
    the instructor's environment sets it, graded code never sees it.
    """
    text = os.environ.get("RNNCOURSE_LANDLOCK_MAX_ABI", "").strip()
    return int(text) if text.isdigit() else None


def _clean_env(home: str) -> dict[str, str]:
    # Nothing of the grader's environment (tokens, paths) reaches the student's code.
    return {"PATH": os.defpath, "HOME": home, "TMPDIR": home, "LANG": "C.UTF-8",
            "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


class _Tail:
    """Keeps the last ``TAIL`` bytes of a stream and counts all of them."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self.total = 0

    def add(self, data: bytes) -> None:
        self.total += len(data)
        self.buf += data
        if len(self.buf) > 2 * TAIL:
            del self.buf[:-TAIL]

    def text(self) -> str:
        text = bytes(self.buf[-TAIL:]).decode("utf-8", errors="replace")
        return "".join(c if c.isprintable() or c in "\n\t" else "?" for c in text)


class _Spawned:
    """A sandbox started as a fresh interpreter (``subprocess.Popen``)."""

    def __init__(self, job: dict, home: str, report_w: int, result_w: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-I", "-S", "-B", str(SANDBOX), *job["sys_path"]],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            cwd=home, env=_clean_env(home), start_new_session=True, close_fds=True,
            pass_fds=(report_w, result_w),
        )
        self.pid = self.proc.pid
        self.stdin = self.proc.stdin
        self.out_fd, self.err_fd = self.proc.stdout.fileno(), self.proc.stderr.fileno()

    def reap(self, run: SandboxRun, block: bool) -> bool:
        """Reap the child (``os.wait4`` for its resource usage); True once it is reaped.

        ``block``: wait at most :data:`REAP_TIMEOUT` seconds (the child was killed), then
        give up on it with exit status -9 rather than hang the grader.
        """
        proc = self.proc
        give_up = time.monotonic() + (REAP_TIMEOUT if block else 0)
        while True:
            try:
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            except ChildProcessError:
                run.exit_code = proc.returncode if proc.returncode is not None else -1
                return True
            if pid != 0:
                break
            if time.monotonic() >= give_up:
                if block:
                    run.exit_code = -signal.SIGKILL
                    run.problem = run.problem or "a process that did not end when killed"
                return block
            time.sleep(0.005)
        run.exit_code = os.waitstatus_to_exitcode(status)
        proc.returncode = run.exit_code  # so that Popen never waits for it again
        scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KB on Linux
        run.max_rss_mb = usage.ru_maxrss * scale / (1 << 20)
        run.cpu_s = usage.ru_utime + usage.ru_stime
        return True

    def kill(self) -> None:
        _kill_group(self.pid)

    def close(self) -> None:
        self.proc.stdout.close()
        self.proc.stderr.close()


def _kill_group(pid: int) -> None:
    for kill in (os.killpg, os.kill):
        try:
            kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


class _Pending:
    """One request to the fork server: its child's pid, then its exit."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.ended = threading.Event()
        self.pid = 0
        self.exit: int | None = None
        self.max_rss_mb = 0.0
        self.cpu_s = 0.0


class SandboxServer:
    """A fork server: one interpreter that imports NumPy once and forks a child per sandbox.

    Started by :func:`~rnncourse.grading.engine.grade` for a grading run (a fresh
    interpreter costs about 0.1 s of NumPy import per sandbox; a fork, about 2 ms).
    The server runs no student code itself; each child is isolated exactly as a
    freshly started sandbox is (its own session, folder, limits, Landlock, seccomp).
    Thread-safe. If it cannot start, :func:`run_sandbox` starts fresh interpreters.
    """

    def __init__(self, paths: dict, workdir: Path) -> None:
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        config = {k: paths[k] for k in ("ll_read", "deny", "soft_deny")}
        env = {**_clean_env(str(workdir)), "RNNCOURSE_SERVER_FD": str(child.fileno()),
               "RNNCOURSE_SERVER_CONFIG": json.dumps(config)}
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-I", "-S", "-B", str(SANDBOX), "--serve", *paths["sys_path"]],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                cwd=workdir, env=env, start_new_session=True, close_fds=True,
                pass_fds=(child.fileno(),))
        finally:
            child.close()
        self.sock = parent
        self.lock = threading.Lock()
        self.pending: dict[int, _Pending] = {}
        self.next_id = 0
        self.alive = True
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        while True:
            try:
                msg = self.sock.recv(65536)
            except OSError:
                msg = b""
            if not msg:
                break
            try:
                record = json.loads(msg)
                p = self.pending[record["id"]]
            except (ValueError, KeyError, TypeError):
                continue
            if "pid" in record:
                p.pid = int(record["pid"])
                p.started.set()
            elif "exit" in record:
                p.exit = int(record["exit"])
                p.max_rss_mb = float(record.get("maxrss", 0)) * 1024 / (1 << 20)
                p.cpu_s = float(record.get("cpu", 0))
                p.started.set()
                p.ended.set()
            else:  # refused
                p.exit = -1
                p.started.set()
                p.ended.set()
        self.alive = False
        for p in list(self.pending.values()):  # the server is gone: nobody will answer
            if p.exit is None:
                p.exit = -1
            p.started.set()
            p.ended.set()

    def start(self, home: str, fds: list[int]) -> _Pending | None:
        """Ask for a child with these pipes (stdin, stdout, stderr, report, result)."""
        p = _Pending()
        with self.lock:
            if not self.alive:
                return None
            ident = self.next_id = self.next_id + 1
            self.pending[ident] = p
            try:
                socket.send_fds(self.sock, [json.dumps({"id": ident, "home": home}).encode()],
                                fds)
            except OSError:
                del self.pending[ident]
                return None
        if not p.started.wait(START_TIMEOUT) or not p.pid:
            self.fail()  # a server that does not answer is not used again
            return None
        return p

    def fail(self) -> None:
        """Stop using this server (it stopped answering): later sandboxes start afresh."""
        with self.lock:
            self.alive = False
        _kill_group(self.proc.pid)

    def done(self, p: _Pending) -> None:
        with self.lock:
            self.pending = {k: v for k, v in self.pending.items() if v is not p}

    def close(self) -> None:
        try:  # shutdown first: a close alone waits for the reader thread's recv to return
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.reader.join(timeout=5)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            _kill_group(self.proc.pid)
            try:
                self.proc.wait(timeout=REAP_TIMEOUT)
            except subprocess.TimeoutExpired:
                pass


class _Served:
    """A sandbox forked by a :class:`SandboxServer`."""

    def __init__(self, server: SandboxServer, home: str, report_w: int, result_w: int) -> None:
        in_r, in_w = os.pipe()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        try:
            pending = server.start(home, [in_r, out_w, err_w, report_w, result_w])
        finally:
            for fd in (in_r, out_w, err_w):
                os.close(fd)
        if pending is None:
            for fd in (in_w, out_r, err_r):
                os.close(fd)
            raise OSError("the sandbox server did not start a child")
        self.server, self.pending, self.pid = server, pending, pending.pid
        self.stdin = os.fdopen(in_w, "wb")
        self.out_fd, self.err_fd = out_r, err_r

    def reap(self, run: SandboxRun, block: bool) -> bool:
        """True once the server reported the child's exit; ``block``: wait a bounded time."""
        if not self.pending.ended.wait(REAP_TIMEOUT if block else 0):
            if not block:
                return False
            # The server did not report a killed child: it is stopped or gone. Never
            # wait on it again; the child's group was killed by kill() already.
            self.server.fail()
            run.exit_code = -signal.SIGKILL
            run.problem = run.problem or "a process that did not end when killed"
            self.server.done(self.pending)
            return True
        if self.pending.exit == -1 and not self.server.alive:
            _kill_group(self.pid)  # the server went away without reporting it: make sure
        run.exit_code = self.pending.exit
        run.max_rss_mb, run.cpu_s = self.pending.max_rss_mb, self.pending.cpu_s
        self.server.done(self.pending)
        return True

    def kill(self) -> None:
        if not self.pending.ended.is_set():
            _kill_group(self.pid)

    def close(self) -> None:
        for fd in (self.out_fd, self.err_fd):
            os.close(fd)


def run_sandbox(job: dict, cases_npz: bytes, limits: Limits, workdir: Path,
                server: SandboxServer | None = None) -> SandboxRun:
    """Run one job in a sandbox process under ``workdir``; never raises for the child's sake.

    The child gets a private directory (``mkdtemp``: mode 0700, and the only one its
    Landlock rules let it open), its job and cases through its stdin (no shared file
    that another process could rewrite), and gives its results back through an
    inherited pipe, so nothing of one sandbox is reachable from another. With a
    ``server``, the child is forked from it instead of started afresh.
    """
    run = SandboxRun()
    home = tempfile.mkdtemp(prefix="sb-", dir=workdir)
    nonce = secrets.token_hex(16)
    report_r, report_w = os.pipe()
    result_r, result_w = os.pipe()
    start = time.monotonic()
    child: _Spawned | _Served | None = None
    try:
        if server is not None:
            fds = {"report_fd": 3, "result_fd": 4}  # where the forked child puts them
            try:
                child = _Served(server, home, report_w, result_w)
            except OSError:
                child = None
        if child is None:
            fds = {"report_fd": report_w, "result_fd": result_w}
            child = _Spawned(job, home, report_w, result_w)
        payload = json.dumps({**job, **fds, "limits": limits.job()}).encode("utf-8")
        for fd in (report_w, result_w):
            os.close(fd)
        report_w = result_w = -1
        feeder = threading.Thread(target=_feed, args=(
            child.stdin, f"{nonce} {len(payload)} {len(cases_npz)}\n".encode(), payload,
            cases_npz), daemon=True)
        feeder.start()
        _drive(child, report_r, result_r, run, limits, start + limits.timeout, nonce, home)
        feeder.join(timeout=1)
        if run.status is None and not run.problem:
            run.status, run.arrays, run.problem = _read_results(run.result, nonce)
    finally:
        if child is not None and run.exit_code is None:  # an error of the grader: clean up
            child.kill()
            child.reap(run, block=True)
        for fd in (report_r, report_w, result_r, result_w):
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
        shutil.rmtree(home, ignore_errors=True)
        run.seconds = time.monotonic() - start
        run.result = b""
    return run


def _feed(pipe: Any, *parts: bytes) -> None:
    """Write the child's input, then close its stdin (in a thread: it may exceed a pipe)."""
    try:
        for part in parts:
            pipe.write(part)
        pipe.close()
    except (OSError, ValueError):  # it is already gone: the exit status tells why
        try:
            pipe.close()
        except (OSError, ValueError):
            pass


def _over_quota(home: str, limits: Limits, run: SandboxRun) -> bool:
    """Whether the sandbox's folder holds more than its quota; if so, say so in ``run``.

    Seen from the grader, so graded code cannot switch it off: at most ``max_files``
    files and folders, ``disk_mb`` MB in all (allocated blocks). RLIMIT_FSIZE caps each
    file inside the process; this caps their number and their sum.
    """
    if run.blocked[:1] and run.blocked[0].startswith("wrote more than"):
        return True
    count, size, stack = 0, 0, [home]
    cap = limits.disk_mb << 20
    try:
        while stack:
            with os.scandir(stack.pop()) as entries:
                for entry in entries:
                    count += 1
                    if count > limits.max_files:
                        why = f"wrote more than {limits.max_files} files in its folder"
                        run.blocked.insert(0, why)
                        return True
                    st = entry.stat(follow_symlinks=False)
                    size += st.st_blocks * 512
                    if size > cap:
                        run.blocked.insert(0, f"wrote more than {limits.disk_mb} MB in its "
                                              f"folder")
                        return True
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
    except OSError:  # a file removed while counting: the next look counts again
        pass
    return False


def _drive(child: _Spawned | _Served, report_r: int, result_r: int, run: SandboxRun,
           limits: Limits, deadline: float, nonce: str, home: str) -> None:
    """Read stdout, stderr and the two pipes until the child ends or breaks a limit."""
    out, err, rep, res = _Tail(), _Tail(), bytearray(), bytearray()
    streams = {child.out_fd: out, child.err_fd: err, report_r: rep, result_r: res}
    caps = {report_r: 65536, result_r: MAX_STATUS_BYTES + MAX_RESULT_BYTES + 16}
    sel = selectors.DefaultSelector()
    for fd in streams:
        os.set_blocking(fd, False)
        sel.register(fd, selectors.EVENT_READ)
    next_look = time.monotonic() + QUOTA_EVERY
    try:
        while sel.get_map():
            now = time.monotonic()
            left = deadline - now
            if left <= 0:
                run.timed_out = True
                break
            if now >= next_look:
                next_look = now + QUOTA_EVERY
                if _over_quota(home, limits, run):
                    break
            for key, _ in sel.select(timeout=min(left, QUOTA_EVERY)):
                try:
                    data = os.read(key.fd, 1 << 20)
                except BlockingIOError:
                    continue
                if not data:
                    sel.unregister(key.fd)
                    continue
                sink = streams[key.fd]
                if isinstance(sink, _Tail):
                    sink.add(data)
                elif len(sink) + len(data) <= caps[key.fd]:
                    sink += data
                elif key.fd == result_r:
                    run.problem = "a result larger than the grader accepts"
                    sel.unregister(key.fd)
            if out.total + err.total > limits.max_output:
                run.flooded = True
                break
        if not (run.timed_out or run.flooded or run.blocked):
            while not child.reap(run, block=False):  # its pipes are closed; it may still run
                now = time.monotonic()
                if now >= deadline:
                    run.timed_out = True
                    break
                if now >= next_look:
                    next_look = now + QUOTA_EVERY
                    if _over_quota(home, limits, run):
                        break
                time.sleep(0.005)
        _over_quota(home, limits, run)  # what it left behind counts too
    finally:
        sel.close()
        if run.exit_code is None:
            child.kill()
            child.reap(run, block=True)
        child.close()
    run.stdout, run.stderr = out.text(), err.text()
    run.result = bytes(res)
    for line in bytes(rep).decode("utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if (isinstance(record, dict) and record.get("nonce") == nonce
                and isinstance(record.get("blocked"), str)):
            run.blocked.append(record["blocked"][:500])


def _read_results(raw: bytes, nonce: str) -> tuple[dict | None, dict, str]:
    """The status record and arrays from the result pipe, checked; or (None, {}, why not)."""
    if not raw:
        return None, {}, "no result"
    n = int.from_bytes(raw[:8], "little")
    if len(raw) < 16 or n > MAX_STATUS_BYTES or len(raw) < 16 + n:
        return None, {}, "an unreadable result"
    m = int.from_bytes(raw[8 + n:16 + n], "little")
    if m > MAX_RESULT_BYTES or len(raw) != 16 + n + m:
        return None, {}, "an unreadable result"
    try:
        status = json.loads(raw[8:8 + n].decode("utf-8"))
    except (ValueError, RecursionError):
        return None, {}, "an unreadable result"
    if not isinstance(status, dict) or status.get("nonce") != nonce:
        return None, {}, "a result that does not belong to this run"
    if not isinstance(status.get("cases"), list):
        return None, {}, "an unreadable result"
    try:
        arrays = parse_npz(raw[16 + n:], MAX_RESULT_BYTES)
    except ValueError as exc:
        return None, {}, f"unreadable result arrays ({exc})"
    return status, arrays, ""


def read_npz(path: Path, limit: int) -> dict[str, np.ndarray]:
    """Read an ``.npz`` file of plain numeric arrays without trusting it (:func:`parse_npz`)."""
    try:
        raw = read_bytes(path, limit, follow_symlinks=False)
    except NotebookError as exc:
        raise ValueError(str(exc)) from None
    return parse_npz(raw, limit)


def parse_npz(raw: bytes, limit: int) -> dict[str, np.ndarray]:
    """Parse ``.npz`` bytes of plain numeric arrays without trusting them.

    No pickles (the format's object arrays are refused outright), no
    allocation before the data is known to be there: every member's header
    is parsed with :mod:`numpy.lib.format`, its dtype must be a plain bool,
    integer or float of at most 8 bytes, and its data must be exactly as long
    as the header says. Raises ``ValueError``.
    """
    if len(raw) > limit:
        raise ValueError(f"larger than {limit >> 20} MB")
    arrays: dict[str, np.ndarray] = {}
    budget = limit
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as zf:
            infos = zf.infolist()
            if len(infos) > 10_000:
                raise ValueError("too many arrays")
            for info in infos:
                if not info.filename.endswith(".npy") or info.file_size > budget:
                    raise ValueError(f"unexpected member {info.filename[:50]!r}")
                budget -= info.file_size
                with zf.open(info) as member:
                    data = member.read(info.file_size + 1)
                arrays[info.filename[:-4]] = _parse_npy(data)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, RuntimeError) as exc:
        raise ValueError(f"not a valid .npz ({exc})") from None
    return arrays


def _parse_npy(data: bytes) -> np.ndarray:
    fmt = np.lib.format
    f = io.BytesIO(data)
    try:
        version = fmt.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = fmt.read_array_header_1_0(f, max_header_size=10_000)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = fmt.read_array_header_2_0(f, max_header_size=10_000)
        else:
            raise ValueError(f"unsupported .npy version {version}")
    except (ValueError, SyntaxError) as exc:
        raise ValueError(f"bad .npy header ({exc})") from None
    if dtype.hasobject or dtype.fields is not None or dtype.kind not in "biuf" \
            or dtype.itemsize > 8:
        raise ValueError(f"dtype {dtype} is not a plain number type")
    if not all(isinstance(n, int) and 0 <= n < 1 << 40 for n in shape) or len(shape) > 32:
        raise ValueError(f"bad shape {shape}")
    count = math.prod(shape)
    offset = f.tell()
    if len(data) - offset != count * dtype.itemsize:
        raise ValueError("array data does not match its header")
    arr = np.frombuffer(data, dtype=dtype, count=count, offset=offset)
    return arr.reshape(shape, order="F" if fortran else "C").copy()


def describe_exit(code: int | None) -> str:
    if code is None:
        return "did not finish"
    if code < 0:
        try:
            return f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"

