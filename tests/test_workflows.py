"""The GitHub workflows: the student workflow's shell steps run here, and their hygiene.

``test_student_workflow_runs_locally`` reads ``.github/workflows/autograde.yml``
with a YAML parser and runs its ``run:`` steps with bash, as GitHub's runner
does (``bash --noprofile --norc -eo pipefail``), in a student repository made
here, with a fresh virtual environment that has no torch, and with the
package source replaced by a wheel built from this checkout.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from rnncourse.grading.checks import ch03_params

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
STUDENT = WORKFLOWS / "autograde.yml"
INSTRUCTOR = ROOT / "instructors"


def _load(path: Path) -> dict:
    data = yaml.safe_load(path.read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as True
    return data


def _all_workflows() -> list[Path]:
    return sorted([*WORKFLOWS.glob("*.yml"), *INSTRUCTOR.rglob("*.yml")])


def _course_url() -> str:
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    return config["repository"]["url"].rstrip("/")


def _version() -> str:
    import tomllib

    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


# --------------------------------------------------------------------------- hygiene


@pytest.mark.parametrize("path", _all_workflows(), ids=lambda p: p.name)
def test_actions_are_pinned_by_commit_and_credentials_not_kept(path):
    wf = _load(path)
    assert "permissions" in wf, "top-level permissions must be set (least privilege)"
    for job in wf["jobs"].values():
        for step in job.get("steps", []):
            uses = step.get("uses")
            if uses is None or uses.startswith("./"):
                continue
            assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", uses), uses
            if uses.startswith("actions/checkout@"):
                assert step.get("with", {}).get("persist-credentials") is False


def test_student_workflow_default_source_is_the_course_at_this_version():
    """The one pinned default agrees with _config.yml's repository and pyproject's version."""
    env = _load(STUDENT)["env"]["RNNCOURSE_SOURCE"]
    default = re.search(r"'([^']+)'", env).group(1)
    assert default == f"rnncourse @ git+{_course_url()}@v{_version()}"
    assert "vars.RNNCOURSE_SOURCE" in env


def test_every_pinned_source_names_the_course_repository_of_config():
    """_config.yml's repository.url is the one place; every default and example follows it."""
    files = [STUDENT, INSTRUCTOR / "grade-class.yml", INSTRUCTOR / "classroom50" / "autograder.py",
             ROOT / "README.md", WORKFLOWS / "release.yml"]
    found = 0
    for path in files:
        for url in re.findall(r"git\+(https://github\.com/[\w.-]+/[\w.-]+?)(?:\.git)?@",
                              path.read_text()):
            found += 1
            assert url == _course_url(), f"{path.name}: {url}"
        assert f"@v{_version()}" in path.read_text() or path.name == "release.yml"
    assert found >= 6


def test_student_workflow_never_installs_the_students_repository():
    text = STUDENT.read_text()
    assert "pip install ." not in text and "pip install -e" not in text
    assert "grading-reporter" not in text and "checks: write" not in text


# --------------------------------------------------------------------------- running it


def _expand(value: str, env: dict[str, str]) -> str:
    """The few expressions the steps use: runner.temp."""
    return value.replace("${{ runner.temp }}", env["RUNNER_TEMP"])


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel of this checkout, built without network from a copy of the package."""
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, src / name)
    shutil.copytree(ROOT / "rnncourse", src / "rnncourse",
                    ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--no-build-isolation", "-w", str(out), str(src)], check=True,
                   capture_output=True, text=True)
    [whl] = out.glob("rnncourse-*.whl")
    return whl


def _run_steps(workflow: Path, repo: Path, env: dict[str, str]) -> list[str]:
    wf = _load(workflow)
    logs = []
    job_env = {**env, **{k: v for k, v in wf.get("env", {}).items() if k not in env}}
    [job] = wf["jobs"].values()
    for step in job["steps"]:
        if "run" not in step:
            continue
        step_env = {**job_env, **{k: _expand(str(v), job_env)
                                  for k, v in step.get("env", {}).items()}}
        cwd = Path(_expand(step.get("working-directory", str(repo)), job_env))
        done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c",
                               step["run"]], cwd=cwd, env=step_env, capture_output=True,
                              text=True, timeout=300)
        logs.append(done.stdout + done.stderr)
        assert done.returncode == 0, f"step {step.get('name')!r} failed:\n{logs[-1]}"
    return logs


@pytest.mark.slow
def test_student_workflow_runs_locally(tmp_path, wheel):
    repo = tmp_path / "student"
    shutil.copytree(ROOT / "exercises", repo / "exercises")
    shutil.copy2(ROOT / "solutions" / "ch03_params.ipynb", repo / "exercises")  # one solved
    (repo / "exercises" / "ch08_gru.ipynb").unlink()  # one deleted: still counts, as 0
    # a fake package of the student's: must change nothing
    (repo / "pyproject.toml").write_text('[project]\nname = "rnncourse"\nversion = "9"\n')
    (repo / "rnncourse").mkdir()
    (repo / "rnncourse" / "__init__.py").write_text("raise SystemExit('student code ran')\n")
    temp = tmp_path / "runner-temp"
    temp.mkdir()
    summary, output = tmp_path / "summary.md", tmp_path / "output.txt"
    base = Path(getattr(sys, "_base_executable", sys.executable)).resolve()
    bindir = tmp_path / "bin"  # `python` on PATH is a plain interpreter, without torch
    bindir.mkdir()
    (bindir / "python").symlink_to(base)
    env = {"PATH": f"{bindir}:/usr/bin:/bin", "HOME": str(tmp_path), "RUNNER_TEMP": str(temp),
           "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_OUTPUT": str(output),
           "RNNCOURSE_SOURCE": str(wheel), "LANG": "C.UTF-8"}
    for key in ("PIP_FIND_LINKS", "PIP_CERT", "PIP_DEFAULT_TIMEOUT", "PIP_INDEX_URL",
                "PIP_EXTRA_INDEX_URL"):
        if key in os.environ:
            env[key] = os.environ[key]
    logs = _run_steps(STUDENT, repo, env)
    grader = temp / "grader"
    check = subprocess.run([str(grader / "bin" / "python"), "-c", "import torch"],
                           capture_output=True)
    assert check.returncode != 0  # a clean environment: no torch
    assert "student=true" in output.read_text()
    grade_log = logs[-1]
    errors = [line for line in grade_log.splitlines() if line.startswith("::error")]
    assert errors and all(line.startswith("::error ") for line in errors)
    assert any(line.startswith("::error file=exercises/ch02_rnn.ipynb,") for line in errors)
    assert any("ch08_gru" in line and "file=" not in line for line in errors)  # deleted
    assert not any("ch03_params" in line for line in errors)  # the solved one passes
    text = summary.read_text()
    assert "This is feedback, not your grade" in text
    assert "| ch03_params |" in text and "✅ pass" in text
    points = re.search(r"(\d+(?:\.\d+)?) / (\d+(?:\.\d+)?) points", text)
    total = subprocess.run([str(grader / "bin" / "python"), "-c",
                            "from rnncourse.grading.roster import expected_notebooks as e;"
                            "print(sum(p for nb in e(None).values() for p in nb.values()))"],
                           capture_output=True, text=True, check=True).stdout
    assert float(points.group(2)) == float(total)  # the maximum of every chapter
    assert 0 < float(points.group(1)) < float(points.group(2))


def test_an_unpinned_source_is_refused(tmp_path):
    temp = tmp_path / "t"
    temp.mkdir()
    wf = _load(STUDENT)
    install = next(s for s in wf["jobs"]["feedback"]["steps"]
                   if s.get("name", "").startswith("Install"))
    for source in ("rnncourse", "rnncourse @ git+https://github.com/o/r@main",
                   "git+https://github.com/o/r", "./", "rnncourse @ git+ext::sh@v1.0.0"):
        done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c",
                               install["run"]], cwd=temp, capture_output=True, text=True,
                              env={"PATH": "/usr/bin:/bin", "RUNNER_TEMP": str(temp),
                                   "RNNCOURSE_SOURCE": source})
        assert done.returncode == 1 and "is not pinned" in done.stdout, source
        assert not (temp / "grader").exists()


def test_course_ci_runs_ci_run_and_pages_publishes_the_built_site():
    ci = _load(WORKFLOWS / "ci.yml")
    assert any(s.get("run", "").strip() == "bash .ci/run" for s in ci["jobs"]["test"]["steps"])
    pages = _load(WORKFLOWS / "pages.yml")
    build = pages["jobs"]["build"]["steps"]
    assert any(s.get("run") == "make book" for s in build)
    upload = next(s for s in build if s.get("uses", "").startswith("actions/upload-pages-artifact"))
    assert upload["with"]["path"] == "_build/html"
    assert pages["jobs"]["deploy"]["permissions"] == {"pages": "write", "id-token": "write"}
    assert pages["permissions"] == {}


def test_the_instructor_template_is_not_active_here():
    assert not (WORKFLOWS / "grade-class.yml").exists()
    wf = _load(INSTRUCTOR / "grade-class.yml")
    assert set(wf["on"]) == {"workflow_dispatch", "schedule"}
    run = "\n".join(s.get("run", "") for s in wf["jobs"]["grade"]["steps"])
    assert "grade-class roster.csv" in run and "--deadline" in run and "--tests checks" in run


@pytest.mark.slow
def test_classroom50_autograder_writes_its_result_json(tmp_path, wheel):
    """instructors/classroom50/autograder.py as Classroom 50's runner calls it."""
    config = tmp_path / "config" / "rnn-2026" / "autograders" / "week3"
    shutil.copytree(INSTRUCTOR / "classroom50", config)
    (config / "checks").mkdir()
    shutil.copy2(ROOT / "rnncourse" / "grading" / "checks" / "ch03_params.py", config / "checks")
    student = tmp_path / "student"
    (student / "exercises").mkdir(parents=True)
    shutil.copy2(ROOT / "solutions" / "ch03_params.ipynb", student / "exercises")
    shutil.copy2(ROOT / "exercises" / "ch02_rnn.ipynb", student / "exercises")  # not checked
    env = {k: v for k, v in os.environ.items() if k.startswith("PIP_")}
    env.update(PATH="/usr/bin:/bin", HOME=str(tmp_path), RUNNER_TEMP=str(tmp_path),
               RNNCOURSE_SOURCE=str(wheel), CLASSROOM="rnn-2026", ASSIGNMENT="week3",
               SUBMISSION_TAG="submit/2026-12-01T10-00-00Z-abc1234",
               COMMIT_URL="https://github.com/o/r/commit/abc1234")
    base = Path(getattr(sys, "_base_executable", sys.executable)).resolve()
    done = subprocess.run([str(base), str(config / "autograder.py")], cwd=student, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads((student / "result.json").read_text())
    spec_points = sum(e.points for e in ch03_params.NOTEBOOK.exercises)
    assert result["schema"] == "classroom50/result/v1"
    assert result["score"] == result["max-score"] == spec_points  # the solved notebook
    assert {t["test-name"].split(":")[0] for t in result["tests"]} == {"ch03_params"}
    assert result["submission"] == "submit/2026-12-01T10-00-00Z-abc1234"
