"""Attacks that need no file at all: on other processes, on the fork server, on metadata.

Landlock confines files; these go around it, through system calls that act on
another process (prlimit64, setpriority, sched_setaffinity, sched_setscheduler,
ioprio_set, rt_sigqueueinfo), on file metadata (chmod, chown, utime, xattr) or on
memory the limits do not count (memfd). Each attacker first switches the audit
hook off (``DISARM``), so that only the kernel -- seccomp, Landlock, the dropped
capabilities -- stands in its way, and is graded beside honest students. For each:
0 for the attacked exercise with the kernel's answer, full marks for every
neighbour, and the grader, the fork server and every file outside the sandboxes
unchanged. ``test_unprivileged_*`` repeats them as an unprivileged user.

The probes that scan process ids only make writes that change nothing (each
process is given back the value it had), so a broken filter is detected without
harming any process outside this test; the destructive writes target only the
grader and the fork server of this test.
"""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from grading_fixtures import FIXTURES, make_notebook, write_notebook

from adversarial.attacks import DISARM, cnt
from rnncourse.grading import Limits, Options, find_submissions, grade
from rnncourse.grading import runner as runner_mod
from rnncourse.grading.sandbox import landlock_abi

PKG_ROOT = Path(__file__).resolve().parents[2]  # the folder that holds rnncourse/

pytestmark = [
    pytest.mark.skipif(landlock_abi() < 1, reason="the grader needs Landlock (Linux >= 5.13)"),
    pytest.mark.skipif(os.uname().machine != "x86_64" or not sys.platform.startswith("linux"),
                       reason="the attacks make raw x86_64 system calls"),
]

LIMITS = Limits(timeout=8, memory_mb=256, max_output=256 * 1024)
KERNEL = r"raised PermissionError: \[Errno 13\] Permission denied: '\d+ tries, nothing reached'"
NOTHING_REACHED = '''
if reached:
    raise ValueError("reached: " + ", ".join(reached[:5]))
raise PermissionError(13, "Permission denied", f"{tries} tries, nothing reached")
'''

# Every call below returns 0 where the kernel lets it act on the other process.
SYSCALLS = DISARM + '''import ctypes, os, time
libc = ctypes.CDLL(None, use_errno=True)
sc = libc.syscall
sc.restype = ctypes.c_long
me, server, grader = os.getpid(), os.getppid(), @GRADER_PID@
U64x2 = ctypes.c_uint64 * 2
reached, tries = [], 0


def hit(what, result):
    global tries
    tries += 1
    if result == 0:
        reached.append(what)


def siginfo(signo):
    info = (ctypes.c_int * 32)()
    info[0], info[2] = signo, -1  # si_signo, si_code = SI_QUEUE
    return info
'''

# Writes that change nothing: read the process's value, write the same one back.
PROBE = SYSCALLS + '''

def probe(pid):
    old = U64x2()
    hit(f"prlimit64 read {pid}", sc(302, pid, 0, None, old))  # RLIMIT_CPU
    if sc(302, pid, 0, None, old) == 0:
        hit(f"prlimit64 {pid}", sc(302, pid, 0, old, None))
    nice = sc(140, 0, pid)  # getpriority: 20 - nice
    if nice > 0:
        hit(f"setpriority {pid}", sc(141, 0, pid, 20 - nice))
    mask = (ctypes.c_ulong * 16)()
    if sc(204, pid, ctypes.sizeof(mask), mask) > 0:  # sched_getaffinity
        hit(f"sched_setaffinity {pid}", sc(203, pid, ctypes.sizeof(mask), mask))
    policy, param = sc(145, pid), (ctypes.c_int * 1)()
    if policy >= 0 and sc(143, pid, param) == 0:  # sched_getscheduler, sched_getparam
        hit(f"sched_setscheduler {pid}", sc(144, pid, policy, param))
        hit(f"sched_setparam {pid}", sc(142, pid, param))
    prio = sc(252, 1, pid)  # ioprio_get(IOPRIO_WHO_PROCESS)
    if prio > 0:
        hit(f"ioprio_set {pid}", sc(251, 1, pid, prio))
    hit(f"rt_sigqueueinfo {pid}", sc(129, pid, 0, siginfo(0)))  # signal 0: permission only
    hit(f"rt_tgsigqueueinfo {pid}", sc(297, pid, pid, 0, siginfo(0)))


def strike(pid, nofile):  # the grader and its fork server: the writes that do harm
    hit(f"RLIMIT_NOFILE {pid}", sc(302, pid, 7, U64x2(nofile, nofile), None))
    hit(f"RLIMIT_MSGQUEUE {pid}", sc(302, pid, 12, U64x2(4242, 4242), None))
    hit(f"nice 19 {pid}", sc(141, 0, pid, 19))
    hit(f"cpu 0 only {pid}", sc(203, pid, 8, (ctypes.c_ulong * 1)(1)))
    hit(f"SCHED_IDLE {pid}", sc(144, pid, 5, (ctypes.c_int * 1)(0)))
    hit(f"ioprio idle {pid}", sc(251, 1, pid, 3 << 13))


neighbours = {*range(max(2, me - 150), me + 150), *range(grader, grader + 40)} - {me}
deadline = time.monotonic() + 3
while time.monotonic() < deadline:  # while the honest students' sandboxes run beside it
    for pid in neighbours:
        probe(pid)
    strike(server, 3)
    strike(grader, 1 << 20)
    hit("SIGSTOP to the fork server", sc(129, server, 19, siginfo(19)))
    hit("SIGURG to the grader", sc(297, grader, grader, 23, siginfo(23)))
''' + NOTHING_REACHED


def _fill(source: str) -> str:
    return source.replace("@GRADER_PID@", str(os.getpid()))


def _class(root: Path, attackers: dict[str, str], honest: int) -> None:
    for name, source in attackers.items():
        write_notebook(root / name / "fx_rnn.ipynb",
                       make_notebook({"count_params": cnt(_fill(source))}))
    for i in range(honest):
        write_notebook(root / f"honest{i}" / "fx_rnn.ipynb", make_notebook())


def _state(pid: int) -> dict:
    """What a process-level attack would change: limits, nice, CPUs, policy, I/O class."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    limits = Path(f"/proc/{pid}/limits").read_text()
    return dict(limits=limits, nice=os.getpriority(os.PRIO_PROCESS, pid),
                cpus=os.sched_getaffinity(pid), policy=os.sched_getscheduler(pid),
                ioprio=libc.syscall(252, 1, pid))


class _Watch:
    """Records the fork server's state when the grader closes it (as the run ends)."""

    def __init__(self, monkeypatch) -> None:
        self.servers: list[tuple[dict, dict]] = []
        original_init, original_close = runner_mod.SandboxServer.__init__, \
            runner_mod.SandboxServer.close
        watch = self

        def init(server, *args, **kwargs):
            original_init(server, *args, **kwargs)
            server._state_at_start = _state(server.proc.pid)

        def close(server):
            watch.servers.append((server._state_at_start, _state(server.proc.pid)))
            original_close(server)

        monkeypatch.setattr(runner_mod.SandboxServer, "__init__", init)
        monkeypatch.setattr(runner_mod.SandboxServer, "close", close)


def _grade(root: Path, jobs: int, tests_dir: Path = FIXTURES):
    saved, tempfile.tempdir = tempfile.tempdir, str(root.parent / "tmp")
    os.makedirs(tempfile.tempdir, exist_ok=True)
    try:
        start = time.monotonic()
        results = grade(find_submissions([root]), Options(limits=LIMITS, jobs=jobs,
                                                          tests_dir=tests_dir))
        return {r.name: r for r in results}, time.monotonic() - start
    finally:
        tempfile.tempdir = saved


def _assert_honest(results: dict) -> None:
    for name, r in results.items():
        if name.startswith("honest"):
            assert r.score == r.max_score == 6, [(e.grade_id, e.reason) for e in r.exercises]


def _assert_attacker(results: dict, name: str, reason: str) -> None:
    ex = {e.grade_id: e for e in results[name].exercises}
    assert ex["count_params"].points == 0
    assert re.search(reason, ex["count_params"].reason), ex["count_params"].reason
    # its other, correct exercises keep their points: it did not break its own sandbox
    assert ex["rnn_step_forward"].points == 2 and ex["rnn_step_backward"].points == 3


def test_other_processes_are_out_of_reach_under_jobs_2(tmp_path, monkeypatch):
    """prlimit64 / setpriority / sched_* / ioprio_set / sigqueue on every neighbour."""
    watch = _Watch(monkeypatch)
    root = tmp_path / "class"
    _class(root, {"aa_attacker": PROBE}, honest=5)
    grader_before = _state(os.getpid())
    results, _ = _grade(root, jobs=2)
    _assert_attacker(results, "aa_attacker", KERNEL)
    assert results["aa_attacker"].exercises[0].seconds > 2.5  # it ran beside the others
    _assert_honest(results)
    assert _state(os.getpid()) == grader_before
    [(server_before, server_after)] = watch.servers
    assert server_after == server_before


def test_the_probe_reaches_a_process_without_the_sandbox(tmp_path):
    """Control: the same probe, outside any sandbox, does reach a process of its own user."""
    target = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        head, _ = PROBE.split("neighbours = {", 1)
        code = head.replace(DISARM, "").replace("@GRADER_PID@", "0") + (
            f"probe({target.pid})\nprint(' '.join(w.split()[0] for w in reached))\n")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             timeout=60)
    finally:
        target.kill()
        target.wait()
    found = set(out.stdout.split())
    assert {"prlimit64", "setpriority", "sched_setaffinity", "sched_setscheduler",
            "rt_sigqueueinfo", "rt_tgsigqueueinfo"} <= found, out.stdout + out.stderr


WRITER = SYSCALLS + '''
for resource_id, value in ((10, 4001), (11, 4002), (12, 4003), (15, 4004)):
    hit(f"limit {resource_id}", sc(302, server, resource_id, U64x2(value, value), None))
for resource_id in (0, 7, 9):  # and the ones every sandbox sets: RLIMIT_CPU, NOFILE, AS
    hit(f"limit {resource_id}", sc(302, server, resource_id, U64x2(5, 5), None))
''' + NOTHING_REACHED
READER = '''import resource
raise ValueError(repr([resource.getrlimit(r) for r in (10, 11, 12, 15)]))
'''


def test_no_answer_channel_through_the_fork_servers_limits(tmp_path, monkeypatch):
    """One sandbox writes into the fork server's limits; the next one reads its own."""
    watch = _Watch(monkeypatch)
    root = tmp_path / "class"
    _class(root, {"aa_writer": WRITER, "ab_reader": READER}, honest=2)
    results, _ = _grade(root, jobs=1)  # in order: the writer, then the reader, then the others
    _assert_attacker(results, "aa_writer", KERNEL)
    reader = results["ab_reader"].exercises[0].reason
    seen = re.search(r"raised ValueError: (\[\(.*?\)\])", reader).group(1)
    expected = [resource.getrlimit(r) for r in (10, 11, 12, 15)]
    assert seen == repr(expected), (seen, expected)
    assert "400" not in seen
    _assert_honest(results)  # RLIMIT_NOFILE 5 on the server would end every later sandbox
    [(server_before, server_after)] = watch.servers
    assert server_after == server_before


def test_each_student_gets_hidden_cases_of_their_own(tmp_path):
    """grade-class draws every student's cases from the run's seed and their name."""
    from rnncourse.grading import checks
    from rnncourse.grading.engine import Prepared, student_seed

    spy = make_notebook({"rnn_step_forward": "def rnn_step_forward(x, prev_h, Wx, Wh, b):\n"
                                             "    raise ValueError(repr(float(x.sum())))\n"})
    root = tmp_path / "class"
    for name in ("ann", "bob"):
        write_notebook(root / name / "fx_rnn.ipynb", spy)
    spec = checks.load("fx_rnn", FIXTURES)

    seen = {}
    for per_student in (True, False):
        results = grade(find_submissions([root]), Options(
            limits=LIMITS, jobs=2, tests_dir=FIXTURES, seed=1234, per_student_cases=per_student))
        for r in results:
            reason = next(e.reason for e in r.exercises if e.grade_id == "rnn_step_forward")
            seen[r.name, per_student] = (r.seed, re.search(r"ValueError: (\S+)", reason)[1])
    assert seen["ann", False] == seen["bob", False] and seen["ann", False][0] == 1234
    assert seen["ann", True][0] == student_seed(1234, "ann") != seen["bob", True][0]
    assert seen["ann", True][1] != seen["bob", True][1]  # different hidden inputs
    for name in ("ann", "bob"):  # and a student's own seed draws their cases again
        own = Prepared(spec, seen[name, True][0])
        x = own.rng(spec.exercises[1])
        assert repr(float(spec.exercises[1].cases(x)[0]["x"].sum())) == seen[name, True][1]


METADATA = DISARM + '''import os
reached, tries = [], 0
targets = ["@CHECKS@", "@CHECKS_DIR@", "@DECOY@", "..", "@OWN@"]
for path in targets:
    for what, call in (("chmod", lambda: os.chmod(path, 0o4777)),
                       ("chmod 000", lambda: os.chmod(path, 0)),
                       ("chown", lambda: os.chown(path, 65534, 65534)),
                       ("lchown", lambda: os.lchown(path, 65534, 65534)),
                       ("utime", lambda: os.utime(path, (0, 0))),
                       ("utime now", lambda: os.utime(path)),
                       ("setxattr", lambda: os.setxattr(path, "user.rnncourse", b"owned")),
                       ("removexattr", lambda: os.removexattr(path, "user.rnncourse"))):
        tries += 1
        try:
            call()
            reached.append(f"{what} {path}")
        except OSError as exc:
            if exc.errno not in (1, 13):  # EPERM, EACCES: refused; anything else got through
                reached.append(f"{what} {path}: {exc}")
''' + NOTHING_REACHED


def _meta(path: Path) -> tuple:
    st = path.stat()
    try:
        attrs = sorted(os.listxattr(path))
    except OSError:
        attrs = []
    return st.st_mode, st.st_uid, st.st_gid, st.st_mtime_ns, attrs


def test_file_metadata_outside_the_sandbox_is_out_of_reach(tmp_path):
    """chmod 04777 on the private checks, chmod 000 on the work folder, chown, utime, xattr."""
    checks = tmp_path / "private-checks"
    checks.mkdir()
    shutil.copy(FIXTURES / "fx_rnn.py", checks / "fx_rnn.py")
    decoy = tmp_path / "grader_file.txt"
    decoy.write_text("original")
    root = tmp_path / "class"
    source = (METADATA.replace("@CHECKS_DIR@", str(checks))
              .replace("@CHECKS@", str(checks / "fx_rnn.py")).replace("@DECOY@", str(decoy))
              .replace("@OWN@", str(root / "aa_attacker" / "fx_rnn.ipynb")))
    _class(root, {"aa_attacker": source}, honest=2)
    paths = [checks, checks / "fx_rnn.py", decoy, root / "aa_attacker" / "fx_rnn.ipynb"]
    for p in paths:
        os.utime(p, ns=(10**18, 10**18))
    before = {p: _meta(p) for p in paths}
    results, _ = _grade(root, jobs=1, tests_dir=checks)  # the work folder's later sandboxes
    _assert_attacker(results, "aa_attacker", KERNEL)
    _assert_honest(results)
    assert {p: _meta(p) for p in paths} == before


SIGNALS = SYSCALLS + '''
for target in (server, grader):
    hit(f"kill {target}", sc(62, target, 19))
    hit(f"tkill {target}", sc(200, target, 19))
    hit(f"tgkill {target}", sc(234, target, target, 19))
    hit(f"rt_sigqueueinfo {target}", sc(129, target, 19, siginfo(19)))
    hit(f"rt_tgsigqueueinfo {target}", sc(297, target, target, 19, siginfo(19)))
    fd = sc(434, target, 0)  # pidfd_open
    hit(f"pidfd {target}", -1 if fd < 0 else sc(424, fd, 19, None, 0))
''' + NOTHING_REACHED


def test_signals_on_a_kernel_without_landlock_signal_scoping(tmp_path, monkeypatch):
    """Landlock ABI 5 (no signal scoping, as on Ubuntu 24.04): SIGSTOP the fork server."""
    monkeypatch.setenv("RNNCOURSE_LANDLOCK_MAX_ABI", "5")
    root = tmp_path / "class"
    source = SIGNALS.replace("(server, grader)", "(server,)")  # pytest must not be stopped
    _class(root, {"aa_attacker": source}, honest=3)
    results, seconds = _grade(root, jobs=2)
    _assert_attacker(results, "aa_attacker", KERNEL)
    _assert_honest(results)
    assert seconds < 60
    for r in results.values():
        for e in r.exercises:
            assert "landlock on (ABI 5)" in e.sandbox, e.sandbox  # the emulation took effect


def test_a_stopped_fork_server_never_hangs_the_grader(tmp_path, monkeypatch):
    """Every wait has a timeout: a fork server that stops answering is dropped, not awaited."""
    import signal

    monkeypatch.setattr(runner_mod, "START_TIMEOUT", 1.0)
    monkeypatch.setattr(runner_mod, "REAP_TIMEOUT", 1.0)
    original = runner_mod.SandboxServer.__init__
    stopped = []

    def init(server, *args, **kwargs):
        original(server, *args, **kwargs)
        os.kill(server.proc.pid, signal.SIGSTOP)  # as an attack on an old kernel would
        stopped.append(server.proc.pid)

    monkeypatch.setattr(runner_mod.SandboxServer, "__init__", init)
    root = tmp_path / "class"
    _class(root, {}, honest=2)
    results, seconds = _grade(root, jobs=2)
    assert stopped
    _assert_honest(results)  # graded by fresh interpreters instead
    assert seconds < 30


MEMFD = DISARM + '''import os
held = []
for i in range(60):  # 60 x 15 MB (each under RLIMIT_FSIZE): 900 MB beside RLIMIT_AS 256 MB
    fd = os.memfd_create(f"hoard{i}")
    os.ftruncate(fd, 15 << 20)
    os.pwrite(fd, b"x" * (1 << 20), 0)  # (only 1 MB of each is touched, to spare the test)
    held.append(fd)
'''
MANY_FILES = DISARM + '''for i in range(100):
    with open(f"f{i}", "w") as f:
        f.write("x")
'''
BIG_FILES = DISARM + '''block = b"x" * (1 << 20)
for i in range(64):  # 64 files of 16 MB: each within RLIMIT_FSIZE, 1 GB together
    with open(f"big{i}", "wb") as f:
        for _ in range(16):
            f.write(block)
'''


CLOSED_PIPES = DISARM + '''import os
for fd in range(64):  # stdout, stderr and the result pipes closed: only the folder shows it
    try:
        os.close(fd)
    except OSError:
        pass
block = b"x" * (1 << 20)
for i in range(64):
    with open(f"big{i}", "wb") as f:
        for _ in range(16):
            f.write(block)
import time
time.sleep(6)  # a grader that looked only at the end would wait for this
'''


@pytest.mark.parametrize("source, reason", [
    (MEMFD, r"raised PermissionError: \[Errno 1\] Operation not permitted"),
    (CLOSED_PIPES, r"wrote more than 64 MB in its folder"),
    (MANY_FILES, r"wrote more than 32 files in its folder"),
    (BIG_FILES, r"wrote more than 64 MB in its folder"),
], ids=["memfd", "closed_pipes_then_big_files", "many_files", "big_files"])
def test_memory_and_disk_beyond_the_limits(tmp_path, source, reason):
    root = tmp_path / "class"
    _class(root, {"aa_attacker": source}, honest=1)
    results, seconds = _grade(root, jobs=2)
    _assert_attacker(results, "aa_attacker", reason)
    _assert_honest(results)
    assert not any((tmp_path / "tmp").iterdir())  # the sandboxes' folders are gone
    assert results["aa_attacker"].exercises[0].seconds < 4  # stopped while it wrote


CAPABILITIES = DISARM + '''import ctypes
libc = ctypes.CDLL(None, use_errno=True)
header = (ctypes.c_uint32 * 2)(0x20080522, 0)
data = (ctypes.c_uint32 * 6)()
libc.capget(header, data)
raise ValueError(f"capabilities {list(data)}")
'''


@pytest.mark.skipif(os.geteuid() != 0, reason="a grader run as root: this one is not")
def test_a_root_grader_leaves_no_capability_in_the_sandbox(tmp_path):
    root = tmp_path / "class"
    _class(root, {"aa_caps": CAPABILITIES}, honest=0)
    results, _ = _grade(root, jobs=1)
    _assert_attacker(results, "aa_caps", r"raised ValueError: capabilities \[0, 0, 0, 0, 0, 0\]")


FILTER_ALONE = r'''
import ctypes, os, resource, sys, tempfile, threading
sys.path.insert(0, sys.argv[1])
from rnncourse.grading.sandbox import _install_seccomp
target, scratch = int(sys.argv[2]), sys.argv[3]
assert _install_seccomp() == "on"
libc = ctypes.CDLL(None, use_errno=True)
sc = libc.syscall
sc.restype = ctypes.c_long
U64x2 = ctypes.c_uint64 * 2
info = (ctypes.c_int * 32)(0, 0, -1)


def errno_of(result):
    return 0 if result >= 0 else ctypes.get_errno()


refused = {
    "prlimit64 read other": errno_of(sc(302, target, 7, None, U64x2())),
    "prlimit64 write self": errno_of(sc(302, 0, 7, U64x2(32, 32), None)),
    "setrlimit": errno_of(sc(160, 7, U64x2(32, 32))),
    "setpriority self": errno_of(sc(141, 0, 0, 1)),
    "sched_setaffinity self": errno_of(sc(203, 0, 8, (ctypes.c_ulong * 1)(1))),
    "sched_setscheduler other": errno_of(sc(144, target, 0, (ctypes.c_int * 1)(0))),
    "ioprio_set other": errno_of(sc(251, 1, target, 0)),
    "rt_sigqueueinfo other": errno_of(sc(129, target, 0, info)),
    "rt_tgsigqueueinfo other": errno_of(sc(297, target, target, 0, info)),
    "memfd_create": errno_of(sc(319, b"x", 0)),
    "fchmodat": errno_of(sc(268, -100, scratch.encode(), 0o600)),
    "fchownat": errno_of(sc(260, -100, scratch.encode(), 0, 0, 0)),
    "utimensat": errno_of(sc(280, -100, scratch.encode(), None, 0)),
    "setxattr": errno_of(sc(188, scratch.encode(), b"user.x", b"1", 1, 0)),
}
threads = []
t = threading.Thread(target=lambda: threads.append(1))
t.start()
t.join()
allowed = {  # what honest code does: its own limits, its priority, its CPUs, threads, files
    "getrlimit": resource.getrlimit(resource.RLIMIT_NOFILE)[0] > 0,
    "prlimit64 read self": resource.prlimit(os.getpid(), resource.RLIMIT_AS)[0] != 0,
    "getpriority": os.getpriority(os.PRIO_PROCESS, 0) is not None,
    "sched_getaffinity": len(os.sched_getaffinity(0)) > 0,
    "signal to itself": errno_of(sc(129, os.getpid(), 0, info)) == 0,
    "thread": threads == [1],
    "write a file": open(scratch + ".new", "w").write("ok") == 2,
}
import json
print(json.dumps([refused, allowed]))
'''


def test_the_filter_alone_refuses_each_call_and_keeps_what_honest_code_needs(tmp_path):
    """The seccomp filter without Landlock or the hook: EPERM for each, and no collateral."""
    target = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    scratch = tmp_path / "scratch"
    scratch.write_text("x")
    try:
        done = subprocess.run([sys.executable, "-c", FILTER_ALONE, str(PKG_ROOT),
                               str(target.pid), str(scratch)],
                              capture_output=True, text=True, timeout=60)
    finally:
        target.kill()
        target.wait()
    assert done.returncode == 0, done.stderr[-2000:]
    refused, allowed = json.loads(done.stdout)
    assert refused == dict.fromkeys(refused, 1), refused  # EPERM, every one
    assert all(allowed.values()), allowed
    assert scratch.stat().st_mode & 0o777 != 0o600


# --------------------------------------------------------------------------- unprivileged


UNPRIVILEGED = r'''
import json, os, sys, tempfile
sys.path.insert(0, sys.argv[2])  # tests/, for grading_fixtures
from grading_fixtures import FIXTURES
from rnncourse.grading import Limits, Options, find_submissions, grade
tempfile.tempdir = sys.argv[3]
results = grade(find_submissions([sys.argv[1]]),
                Options(limits=Limits(timeout=8, memory_mb=256), jobs=2, tests_dir=FIXTURES))
print(json.dumps({r.name: [[e.grade_id, e.points, e.reason] for e in r.exercises]
                  for r in results}))
'''


def _nobody() -> tuple[list[str], str, dict[str, str]]:
    """setpriv to uid/gid 65534, an interpreter that user can start, and its environment."""
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0:
        pytest.skip("already unprivileged: the tests above are the unprivileged run")
    if setpriv is None:
        pytest.skip("needs setpriv (util-linux) to run the grader as another user")
    import numpy

    drop = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "--"]
    env = {"PATH": os.defpath, "LANG": "C.UTF-8", "PYTHONPATH": os.pathsep.join(
        [str(Path(numpy.__file__).resolve().parents[1]), str(PKG_ROOT)])}
    probe = "import subprocess, sys; subprocess.run([sys.executable, '-c', '0'], check=True)"
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    for python in (sys.executable, f"/usr/bin/{version}", f"/usr/local/bin/{version}"):
        if os.path.exists(python) and subprocess.run(
                [*drop, python, "-B", "-c", probe + "; import numpy, rnncourse"], env=env,
                cwd="/", capture_output=True, timeout=60).returncode == 0:
            return drop, python, env
    pytest.skip(f"no {version} interpreter that uid 65534 can start ({sys.executable} lies "
                f"in a folder closed to other users)")


def test_unprivileged_grader_under_jobs_2():
    """Every attack of this file again, with the grader as nobody (uid 65534), --jobs 2."""
    drop, python, env = _nobody()
    base = Path(tempfile.mkdtemp(prefix="rnncourse-unpriv-"))
    try:
        os.chmod(base, 0o755)
        root, tmp = base / "class", base / "tmp"
        decoy = base / "grader_file.txt"
        decoy.write_text("original")
        metadata = (METADATA.replace("@CHECKS_DIR@", str(base))
                    .replace("@CHECKS@", str(decoy)).replace("@DECOY@", str(decoy))
                    .replace("@OWN@", str(root / "ac_metadata" / "fx_rnn.ipynb")))
        attackers = {"aa_probe": PROBE,
                     "ab_writer": WRITER, "ac_metadata": metadata,
                     "ad_signals": SIGNALS.replace("(server, grader)", "(server,)"),
                     "ae_memfd": MEMFD, "af_files": MANY_FILES, "ag_big_files": BIG_FILES}
        reasons = {"ae_memfd": r"raised PermissionError: \[Errno 1\] Operation not permitted",
                   "af_files": r"wrote more than 32 files in its folder",
                   "ag_big_files": r"wrote more than 64 MB in its folder"}
        for name, source in attackers.items():
            write_notebook(root / name / "fx_rnn.ipynb",
                           make_notebook({"count_params": cnt(source.replace(
                               "@GRADER_PID@", "os.getppid()"))}))  # the grader: unknown yet
        for i in range(3):
            write_notebook(root / f"honest{i}" / "fx_rnn.ipynb", make_notebook())
        tmp.mkdir()
        for p in [base, *base.rglob("*")]:
            os.chown(p, 65534, 65534)
        before = _meta(decoy)
        done = subprocess.run(
            [*drop, python, "-B", "-c", UNPRIVILEGED, str(root),
             str(Path(__file__).resolve().parents[1]), str(tmp)],
            capture_output=True, text=True, timeout=300, cwd=str(base),
            env={**env, "HOME": str(base)})
        assert done.returncode == 0, done.stderr[-3000:]
        results = json.loads(done.stdout.splitlines()[-1])
        for name in attackers:
            got = {gid: (points, reason) for gid, points, reason in results[name]}
            assert got["count_params"][0] == 0
            assert re.search(reasons.get(name, KERNEL), got["count_params"][1]), \
                (name, got["count_params"])
            assert got["rnn_step_backward"][0] == 3, (name, got)
        for name, exercises in results.items():
            if name.startswith("honest"):
                assert [p for _, p, _ in exercises] == [1, 2, 3], exercises
        assert _meta(decoy) == before and decoy.read_text() == "original"
        assert list(tmp.iterdir()) == []
    finally:
        shutil.rmtree(base, ignore_errors=True)
