"""Classroom 50 autograder for an rnncourse assignment (a template for instructors).

Put this file at CLASSROOM/autograders/ASSIGNMENT/autograder.py in your Classroom 50
configuration repository, with your checks beside it in checks/<notebook>.py (copy
rnncourse/grading/checks/ and change the cases). Classroom 50 runs it in the student's
checkout and reads ./result.json (schema classroom50/result/v1).

It installs rnncourse from the course's pinned source into a virtual environment of
its own (never from the student's repository), grades exercises/ with every notebook
of the checks counting (a missing one scores 0), and writes result.json.

As Classroom 50 itself says, grading in the student's repository is not an isolation
boundary: use the score as feedback and grade the final submissions with
`rnncourse grade-class` from your own repository.
"""

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

# The course's pinned source: a release tag or a commit, never a bare package name.
# The tag exists once the course pushed it (.github/workflows/release.yml builds that
# release); until then, set RNNCOURSE_SOURCE to a commit.
SOURCE = os.environ.get(
    "RNNCOURSE_SOURCE", "rnncourse @ git+https://github.com/rnncourse/rnncourse@v0.1.0")
PINNED = (r"rnncourse @ git\+https://\S+@(v\d+\.\d+\.\d+|[0-9a-f]{40})"
          r"|(https://|/)\S+/rnncourse-\d\S*-py3-none-any\.whl")
HERE = Path(__file__).resolve().parent


def main() -> int:
    if not re.fullmatch(PINNED, SOURCE):
        print(f"::error::RNNCOURSE_SOURCE {SOURCE!r} is not pinned to a tag, a commit or a wheel")
        return 1
    venv = Path(os.environ.get("RUNNER_TEMP") or tempfile.mkdtemp()) / "rnncourse-grader"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
                    "--disable-pip-version-check", SOURCE], check=True, cwd=venv)
    command = [str(venv / "bin" / "rnncourse"), "grade", "exercises", "--all-notebooks",
               "--annotate", "--classroom50", "result.json"]
    if (HERE / "checks").is_dir():
        command += ["--tests", str(HERE / "checks")]
    return subprocess.run(command, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
