"""Submissions that try to fool, crash or escape the grader, one per attack.

Each :class:`Attack` replaces the source of one cell of the fixture notebook
(``tests/grading_fixtures``) or the whole notebook, and says what the grader
must answer: 0 points for the attacked exercise with a reason matching
``reason``, full points for the others (except those in ``also_fails``, which
depend on the attacked cell). ``tests/test_grading_adversarial.py`` grades all
of them at once, as a class of students.

Placeholders in sources, filled in when the submission is written:
``@GRADER_PID@`` the grading process's id,
``@DECOY@`` a file outside the sandbox that must stay untouched, ``@OWN@`` the
submission's own notebook, ``@OTHER@`` another student's notebook, ``@CHECKS@``
the fixture's hidden checks, ``@PKG@`` the rnncourse package directory.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from grading_fixtures import SOLUTIONS


@dataclass(frozen=True)
class Attack:
    name: str
    cell: str | None  # grade_id of the replaced cell; None: a notebook-level attack
    source: str | None  # the cell's new source (None with cell: the cell is removed)
    reason: str  # regex the attacked exercise's reason must match
    also_fails: tuple[str, ...] = ()
    notebook: str | None = None  # raw file content, for malformed notebooks
    files: dict[str, str] = field(default_factory=dict)  # extra files in the student folder
    rename: dict[str, str] = field(default_factory=dict)  # metadata-free cells etc.


FWD, BWD, CNT = "rnn_step_forward", "rnn_step_backward", "count_params"

CORRECT_BWD = SOLUTIONS[BWD]


def bwd(ret: str, prelude: str = "", head: str = "") -> str:
    """A backward function that computes the right gradients, then returns ``ret``."""
    return f'''{head}
def rnn_step_backward(dnext_h, cache):
    {prelude}
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h**2)
    dx, dprev_h = da @ Wx.T, da @ Wh.T
    dWx, dWh, db = x.T @ da, prev_h.T @ da, da.sum(axis=0)
    return {ret}
'''


def cnt(head: str = "", body: str = "return D * H + H * H + H") -> str:
    return f"{head}\ndef count_rnn_params(D, H):\n    {body}\n"


WRONG = "dx * 0, dprev_h, dWx, dWh, db"  # right in every output but dx

READ_ONLY = r"graded code can only read NumPy and the Python standard library"
WRITE = r"graded code may only write in its own temporary directory"
REFERENCE = (r"tried to import rnncourse[.\w]*: importing the reference implementation "
             r"\(rnncourse\) is not allowed in graded code")

ATTACKS: tuple[Attack, ...] = (
    # -- ending the process early (a pytest-based grader would report success)
    Attack("os_exit_at_import", CNT, cnt("import os\nos._exit(0)"),
           r"your code ended the process \(os\._exit / sys\.exit\) before returning "
           r"\(exit status 0\)"),
    Attack("sys_exit_at_import", CNT, cnt("import sys\nsys.exit(0)"),
           r"your code called sys\.exit\(0\) while its cell was run"),
    Attack("os_exit_in_function", BWD, bwd("dx, dprev_h, dWx, dWh, db", "import os; os._exit(0)"),
           r"your code ended the process \(os\._exit / sys\.exit\) before returning"),
    Attack("sys_exit_in_function", BWD, bwd("dx, dprev_h, dWx, dWh, db", "raise SystemExit(0)"),
           r"your code called sys\.exit\(0\) before returning"),
    Attack("forged_result_then_exit", BWD, bwd(WRONG, '''import json, os
    head = json.dumps({"nonce": "0" * 32, "setup_error": None, "cases": []}).encode()
    forged = len(head).to_bytes(8, "little") + head + bytes(8)
    for fd in range(3, 256):
        try:
            os.write(fd, forged)
        except OSError:
            pass
    os._exit(0)'''), r"returned a result that does not belong to this run"),
    # -- resources
    Attack("infinite_loop", BWD, bwd(WRONG, "while True: pass"), r"timed out after 5 s"),
    Attack("memory_bomb_numpy", BWD, bwd(WRONG, "big = np.ones((10**5, 10**5))"),
           r"used more than 256 MB of memory"),
    Attack("memory_bomb_list", BWD,
           bwd(WRONG, "hog = []\n    while True: hog.append(bytearray(10**7))"),
           r"used more than 256 MB of memory"),
    Attack("thread_flood", CNT, cnt("import threading, time\n"
                                    "for _ in range(2000):  # 8 MB of stack each: too much\n"
                                    "    threading.Thread(target=time.sleep, args=(2,), "
                                    "daemon=True).start()"),
           r"could not start a thread: out of memory \(the limit is 256 MB"),
    Attack("stdout_flood", BWD, bwd(WRONG, 'while True: print("x" * 1000)'),
           r"printed more than 0\.25 MB of output"),
    Attack("stderr_flood", BWD,
           bwd(WRONG, 'import sys\n    while True: sys.stderr.write("y" * 999)'),
           r"printed more than 0\.25 MB of output"),
    Attack("huge_result", BWD, bwd("np.zeros((3000, 3000)), dprev_h, dWx, dWh, db"),
           r"dx is too large"),
    Attack("deep_result", BWD, bwd("deep, dprev_h, dWx, dWh, db",
                                   "deep = []\n    for _ in range(100): deep = [deep]"),
           r"dx\[0\](\[0\])* is nested more than 32 levels deep"),
    Attack("recursion", BWD, bwd(WRONG, "def f(n): return f(n + 1)\n    f(0)"),
           r"raised RecursionError: maximum recursion depth exceeded"),
    # -- tampering with the comparison (it happens in the grader, not here)
    Attack("monkeypatch_allclose", BWD, bwd(WRONG, head='''import numpy
numpy.allclose = lambda *a, **k: True
numpy.isclose = lambda a, b, *r, **k: numpy.ones(numpy.shape(a), bool)
numpy.array_equal = lambda *a, **k: True'''), r"dx differs from the reference"),
    Attack("monkeypatch_numpy_testing", BWD, bwd(WRONG, head='''import numpy.testing
numpy.testing.assert_allclose = lambda *a, **k: None
numpy.testing.assert_array_equal = lambda *a, **k: None
numpy.testing.assert_array_almost_equal = lambda *a, **k: None'''),
           r"dx differs from the reference"),
    Attack("eq_always_true", BWD, bwd("AlwaysEqual(), dprev_h, dWx, dWh, db", head='''
class AlwaysEqual:
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __array__(self, *args, **kwargs): raise TypeError("no")'''),
           r"dx is an object of type AlwaysEqual"),
    Attack("ndarray_subclass", BWD, bwd("np.zeros_like(dx).view(Liar), dprev_h, dWx, dWh, db",
                                        head='''
class Liar(np.ndarray):
    def __eq__(self, other): return np.ones(self.shape, bool)
    def __ne__(self, other): return np.zeros(self.shape, bool)'''),
           r"dx is a Liar \(a subclass of numpy\.ndarray\); return a plain numpy\.ndarray"),
    Attack("planted_conftest", BWD, bwd(WRONG), r"dx differs from the reference",
           files={"conftest.py": '''import os, pathlib
pathlib.Path("@DECOY@").write_text("conftest ran")

def pytest_runtest_makereport(item, call):
    os._exit(0)
'''}),
    # -- using the reference implementation or the hidden checks
    Attack("import_rnncourse_in_function", BWD, bwd(
        "ref(dnext_h, cache)", "from rnncourse.numpy.rnn import rnn_step_backward as ref"),
        REFERENCE),
    Attack("import_rnncourse_swallowed", CNT, cnt('''try:
    import rnncourse
except BaseException:
    pass'''), REFERENCE),
    Attack("import_rnncourse_via_importlib", CNT, cnt('''import importlib
ref = importlib.import_module("rnncourse.params")'''), REFERENCE),
    Attack("import_rnncourse_via_sys_path", CNT, cnt('''import sys
sys.path.insert(0, "@PKG@/..")
from rnncourse.params import count_parameters'''), REFERENCE),
    Attack("load_reference_by_path", BWD, bwd("m.rnn_step_backward(dnext_h, cache)", '''\
import importlib.util
    spec = importlib.util.spec_from_file_location("ref", "@PKG@/numpy/rnn.py")
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)'''),
           r"tried to read the grader's files \(.*numpy/(__pycache__/)?rnn\.(py|cpython)"),
    Attack("import_torch", BWD, bwd(WRONG, "import torch"),
           r"tried to import torch: importing torch is not allowed in graded code"),
    Attack("read_hidden_checks", BWD, bwd(WRONG, 'open("@CHECKS@").read()'),
           r"tried to read the grader's files \(.*fx_rnn\.py\)"),
    Attack("read_packaged_checks", CNT, cnt('open("@PKG@/grading/checks/__init__.py").read()'),
           r"tried to read the grader's files"),
    Attack("read_reference_source", BWD, bwd(WRONG, 'open("@PKG@/numpy/rnn.py", "rb").read()'),
           r"tried to read the grader's files"),
    Attack("list_checks", CNT, cnt('import os\nos.listdir("@PKG@/grading/checks")'),
           r"tried to list the directory .*checks"),
    Attack("read_other_submission", CNT, cnt('open("@OTHER@").read()'), READ_ONLY),
    Attack("read_system_file", CNT, cnt('open("/etc/hostname").read()'), READ_ONLY),
    # the environment graded code sees is built from scratch (the battery's secret is not in it)
    Attack("show_own_environment", CNT, cnt('import os\nraise ValueError(sorted(os.environ))'),
           r"raised ValueError: \['HOME', 'LANG', 'MKL_NUM_THREADS', 'OMP_NUM_THREADS', "
           r"'OPENBLAS_NUM_THREADS', 'PATH', 'TMPDIR'\]"),
    # -- writing, processes, signals, network, C code
    Attack("write_grader_file", CNT, cnt('open("@DECOY@", "w").write("owned")'), WRITE),
    Attack("append_grader_file", CNT,
           cnt('import os\nos.open("@DECOY@", os.O_WRONLY | os.O_APPEND)'), WRITE),
    Attack("write_own_notebook", CNT, cnt('open("@OWN@", "w").write("{}")'), WRITE),
    Attack("delete_grader_file", CNT, cnt('import os\nos.remove("@DECOY@")'),
           r"tried to change .* \(os\.remove\)"),
    Attack("write_through_dir_fd", CNT, cnt('''import os
fd = os.open(os.path.dirname(os.__file__), os.O_RDONLY)
os.open("planted.py", os.O_WRONLY | os.O_CREAT, dir_fd=fd)'''),
           r"tried to open the directory .*python3\.\d+, which graded code may not do"),
    Attack("touch_own_notebook", CNT, cnt('import os\nos.utime("@OWN@", (0, 0))'),
           r"tried to change .*fx_rnn\.ipynb \(os\.utime\)"),
    # (with Landlock on, the hook lets dir_fd through and the kernel refuses what lies outside)
    Attack("rename_with_dir_fd", CNT, cnt('import os\nos.rename("a", "b", src_dir_fd=3)'),
           r"tried to change a file relative to a directory descriptor \(os\.rename\)|"
           r"raised (FileNotFoundError|NotADirectoryError|PermissionError|OSError)"),
    Attack("terminal_escapes", BWD, bwd(WRONG, 'raise ValueError("\\x1b[2J\\x1b[31mgotcha")'),
           r"raised ValueError: \?\[2J\?\[31mgotcha"),
    Attack("close_report_pipe_then_import", BWD, bwd(WRONG, '''import gc, os
    os.close(next(o["report_fd"] for o in gc.get_objects()
                  if type(o) is dict and "report_fd" in o))
    import rnncourse'''), REFERENCE),
    Attack("close_every_descriptor", BWD, bwd(WRONG, '''import os
    for fd in range(3, 64):
        try:
            os.close(fd)
        except OSError:
            pass'''),
           r"no result came back: your code closed or damaged the pipe that carries the results"),
    Attack("symlink_out", CNT, cnt('import os\nos.symlink("@DECOY@", "link")'),
           r"tried creating links"),
    Attack("chdir_out", CNT, cnt('import os\nos.chdir("/")'),
           r"tried to change the working directory"),
    Attack("subprocess", BWD, bwd(WRONG, 'import subprocess; subprocess.run(["true"])'),
           r"tried to start a process \(subprocess\.Popen\)"),
    Attack("os_system", BWD, bwd(WRONG, 'import os; os.system("touch @DECOY@")'),
           r"tried to start a process \(os\.system\)"),
    Attack("fork", CNT, cnt("import os\nif os.fork() == 0: os._exit(0)"),
           r"tried to start a process \(os\.fork\)"),
    Attack("kill_grader", CNT, cnt("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)"),
           r"tried to send a signal \(os\.kill\)"),
    Attack("raise_limits", CNT, cnt('''import resource
resource.setrlimit(resource.RLIMIT_AS, (-1, -1))'''), r"tried to change the resource limits"),
    Attack("socket", BWD, bwd(WRONG, "import socket; socket.create_connection(('1.1.1.1', 80))"),
           r"tried to use the network \(socket\.\w+\)"),
    Attack("multiprocessing", BWD, bwd(WRONG, "import multiprocessing"),
           r"tried to import multiprocessing"),
    Attack("ctypes", CNT, cnt("import ctypes\nctypes.CDLL(None)"),
           r"tried to call C code through ctypes"),
    Attack("audit_hook", CNT, cnt("import sys\nsys.addaudithook(lambda *a: None)"),
           r"tried installing audit hooks"),
    # -- wrong answers, with a reason a student understands
    Attack("nan", BWD, bwd("dx, dprev_h * np.nan, dWx, dWh, db"),
           r"dprev_h contains NaN \(first at index \(0, 0\)\) \(case 1 of 4\)"),
    Attack("wrong_shape", BWD, bwd("dx.T, dprev_h, dWx, dWh, db"),
           r"dx has shape \(3, 2\), expected \(2, 3\) \(case 2 of 4\)"),
    Attack("wrong_dtype", BWD, bwd("dx, dprev_h, dWx.astype(np.float32), dWh, db"),
           r"dWx has dtype float32, expected float64 \(every float array you return must be "
           r"float64, like the inputs\) \(case 1 of 4\)"),
    Attack("list_instead_of_array", BWD, bwd("dx.tolist(), dprev_h, dWx, dWh, db"),
           r"dx is a list, expected a NumPy array of shape \(1, 1\) \(convert it with np\.array\)"),
    Attack("too_few_outputs", BWD, bwd("dx, dprev_h, dWx"),
           r"returned a tuple of 3 items, expected 5 outputs \(dx, dprev_h, dWx, dWh, db\)"),
    Attack("wrong_values", BWD, bwd("dx, dprev_h, dWx, 1.31 * dWh, db"),
           r"dWh differs from the reference, max relative error 0\.31 \(at index \(0, 0\): "
           r"got .*, expected .*\) \(case 1 of 4\)"),
    Attack("wrong_count_type", CNT, cnt(body="return (D * H + H * H + H) / 1"),
           r"count is the float 3, expected an integer"),
    Attack("not_implemented", BWD,
           "def rnn_step_backward(dnext_h, cache):\n    raise NotImplementedError()\n",
           r"not implemented yet \(NotImplementedError\)$"),
    Attack("syntax_error", BWD, "def rnn_step_backward(dnext_h, cache)\n    return 1\n",
           r"syntax error in the cell, line 1: expected ':'"),
    Attack("evil_exception", BWD, bwd(WRONG, "raise Evil()", head='''
class Evil(Exception):
    def __str__(self): raise RuntimeError("no message for you")'''),
           r"raised Evil: <unprintable>"),
    Attack("forward_not_implemented", FWD,
           "def rnn_step_forward(x, prev_h, Wx, Wh, b):\n    raise NotImplementedError()\n",
           r"not implemented yet \(NotImplementedError\)$", also_fails=(BWD,)),
    # -- malformed notebooks
    Attack("bad_json", None, None, r"is not valid JSON \(line 1, column 12: Expecting value\)",
           also_fails=(CNT, FWD, BWD), notebook='{"cells": [oops'),
    Attack("not_a_notebook", None, None, r"is not a Jupyter notebook",
           also_fails=(CNT, FWD, BWD), notebook='[1, 2, 3]'),
    Attack("nbformat_3", None, None, r"has nbformat 3; expected 4",
           also_fails=(CNT, FWD, BWD), notebook='{"cells": [], "nbformat": 3}'),
    Attack("missing_cell", BWD, None,
           r"the notebook has no cell for this exercise \(grade_id 'rnn_step_backward'"),
    Attack("missing_required_cell", FWD, None,
           r"the notebook has no cell for this exercise \(grade_id 'rnn_step_forward'",
           also_fails=(BWD,)),
    Attack("renamed_function", BWD, CORRECT_BWD.replace("def rnn_step_backward(",
                                                        "def rnn_step_bwd("),
           r"the cell does not define `rnn_step_backward` \(did you rename it\? it defines: "
           r"rnn_step_bwd\)"),
)

# -- the kernel layer: graded code first switches the audit hook off -- as it can, since the
# hook's policy lives in Python objects that it can reach (gc, sys.meta_path, frames) -- and
# only Landlock and seccomp stand in its way. "raised PermissionError: [Errno 13]" is the
# kernel's answer; the hook's own refusals read "tried to ..." instead.
DISARM = '''import gc, sys
for _o in gc.get_objects():
    if type(_o).__name__ == "Guard":
        _o.block = lambda *a, **k: None  # every check of the hook now lets everything through
sys.meta_path[:] = [m for m in sys.meta_path if type(m).__name__ != "_ReferenceFinder"]
'''
KERNEL = r"raised PermissionError: \[Errno 13\] Permission denied"
SECRET_ENV = "RNNCOURSE_GRADER_SECRET"  # set in the grader by the battery

KERNEL_ATTACKS: tuple[Attack, ...] = (
    Attack("disarm_then_read_system_file", CNT, cnt(DISARM + 'open("/etc/hostname").read()'),
           KERNEL),
    Attack("disarm_then_read_hidden_checks", CNT, cnt(DISARM + 'open("@CHECKS@").read()'),
           KERNEL),
    Attack("disarm_then_read_other_submission", CNT, cnt(DISARM + 'open("@OTHER@").read()'),
           KERNEL),
    # the grader's own process, and the parent of the sandbox (the grader's fork server)
    Attack("disarm_then_read_grader_environ", CNT, cnt(DISARM + '''import os
raise ValueError(open("/proc/@GRADER_PID@/environ").read())'''), KERNEL),
    Attack("disarm_then_read_parent_environ", CNT, cnt(DISARM + '''import os
raise ValueError(open(f"/proc/{os.getppid()}/environ").read())'''), KERNEL),
    Attack("disarm_then_read_own_environ_via_proc", CNT, cnt(DISARM + '''import os
raise ValueError(open("/proc/self/environ").read())'''), KERNEL),
    Attack("disarm_then_list_proc", CNT, cnt(DISARM + '''import os
os.listdir("/proc")'''), KERNEL),
    Attack("disarm_then_import_reference", CNT, DISARM + '''sys.path.insert(0, "@PKG@/..")
from rnncourse.params import count_parameters as _ref

def count_rnn_params(D, H):
    return _ref("rnn", D, H)
''', r"raised (PermissionError|ModuleNotFoundError|ImportError)"),
    Attack("disarm_then_load_reference_by_path", BWD, bwd("m.rnn_step_backward(dnext_h, cache)",
                                                           '''\
import importlib.util
    spec = importlib.util.spec_from_file_location("ref", "@PKG@/numpy/rnn.py")
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)''', head=DISARM), KERNEL),
    Attack("disarm_then_write_grader_file", CNT,
           cnt(DISARM + 'open("@DECOY@", "a").write("owned")'), KERNEL),
    Attack("disarm_then_plant_code_in_the_grader", CNT,
           cnt(DISARM + 'open("@PKG@/grading/checks/owned.py", "w").write("x = 1")'), KERNEL),
    Attack("disarm_then_write_tmp", CNT, cnt(DISARM + 'open("/tmp/owned-by-student", "w")'),
           KERNEL),
    Attack("disarm_then_rewrite_own_notebook", CNT,
           cnt(DISARM + 'open("@OWN@", "w").write("{}")'), KERNEL),
    Attack("disarm_then_walk_up_from_the_sandbox", CNT, cnt(DISARM + '''import os
for name in os.listdir(".."):  # the grader's folder of sandboxes
    open(os.path.join("..", name, "cases.npz"), "wb").write(b"x")'''), KERNEL),
    Attack("ctypes_raw_syscalls", CNT, cnt(DISARM + '''import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
results = {
    "open environ": libc.syscall(257, -100, b"/proc/@GRADER_PID@/environ", 0, 0),
    "open mem": libc.syscall(257, -100, f"/proc/{os.getppid()}/mem".encode(), 2, 0),
    "open decoy": libc.syscall(257, -100, b"@DECOY@", 0o2001, 0),  # O_WRONLY | O_APPEND
    "ptrace": libc.syscall(101, 16, @GRADER_PID@, 0, 0),  # PTRACE_ATTACH to the grader
    "kill": libc.syscall(62, os.getppid(), 0),  # signal 0 to its parent: existence probe
    "unshare": libc.syscall(272, 0x10000000, 0),  # CLONE_NEWUSER: a way around Landlock?
}
if all(v < 0 for v in results.values()):  # else the correct function below earns the points
    raise PermissionError(13, "Permission denied", str(results))'''), KERNEL),
)

# Correct submissions with something unusual: they must get full marks.
HARMLESS: tuple[Attack, ...] = (
    Attack("warnings_on_stderr", BWD, bwd("dx, dprev_h, dWx, dWh, db", '''import sys, warnings
    warnings.warn("this is only a warning")
    print("some noise", file=sys.stderr)''', head="import warnings\nwarnings.warn('at import')"),
           ""),
    Attack("prints_on_stdout", BWD,
           bwd("dx, dprev_h, dWx, dWh, db", 'print("debugging:", cache[0].shape)'), ""),
    Attack("ipython_magic", BWD, "%matplotlib inline\n" + CORRECT_BWD, ""),
    Attack("metadata_lost", BWD, CORRECT_BWD, "", rename={BWD: "no-metadata"}),
    Attack("scratch_file_in_sandbox", BWD, CORRECT_BWD.replace(
        "    return dx,", '    np.save("scratch.npy", dx)\n    dx = np.load("scratch.npy")\n'
        "    return dx,"), ""),
)
