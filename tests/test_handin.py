"""``chainrule handin``: the zip, page 1 of its PDF, the executed notebook, the scripts, bad input.

One hand-in is made with the hidden ``test`` budget (the report on a small subset, the
notebook exactly as ``--budget quick`` runs it: 10,000 training images) and shared by
the tests of this module; the scripts run from the unzipped folder in fresh processes.
"""

from __future__ import annotations

import math
import os
import re
import select
import signal
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from hypothesis import given
from hypothesis import strategies as st

from chainrule import __version__
from chainrule.cli import main
from chainrule.handin.archive import write_zip
from chainrule.report.group import RESERVED, GroupError, Member, parse_member

REPO = Path(__file__).resolve().parent.parent
MEMBERS_FILE = """\
group = 7
members = [
  { name = "Ada Lovelace", matriculation = "123456" },
  "Jürgen Müller:654321",
]
"""
MEMBERS = (("Ada Lovelace", "123456"), ("Jürgen Müller", "654321"))
SCRIPTS = ("section_1_2_graphs.py", "section_1_3_vanishing.py", "section_1_4_training.py")


@dataclass(frozen=True)
class Handin:
    zip: Path
    unpacked: Path
    report: Path  # the report folder whose cache the hand-in filled
    members_file: Path


def _handin(members_file: Path, out: Path, report: Path, *extra: str) -> int:
    return main(["handin", "--members", str(members_file), "--budget", "test",
                 "--out", str(out), "--report", str(report), "-q", *extra])


@pytest.fixture(scope="module")
def handin(tmp_path_factory: pytest.TempPathFactory) -> Handin:
    folder = tmp_path_factory.mktemp("handin")
    members_file = folder / "group.toml"
    members_file.write_text(MEMBERS_FILE, encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OMP_NUM_THREADS", "1")  # CI runs two test processes on two cores
        status = _handin(members_file, folder / "zips", folder / "report")
    assert status == 0
    target = folder / "zips" / "exercise_1_group_7.zip"
    with zipfile.ZipFile(target) as archive:
        assert archive.testzip() is None
        archive.extractall(folder / "unpacked")
    return Handin(target, folder / "unpacked", folder / "report", members_file)


def _fresh_env() -> dict[str, str]:
    """No PYTHONPATH: the scripts must find chainrule in the unzipped folder itself."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(OMP_NUM_THREADS="1", CHAINRULE_DATA_DIR=str(REPO / "data" / "mnist"),
               MPLBACKEND="Agg")
    return env


def _run_script(folder: Path, *argv: str) -> str:
    done = subprocess.run([sys.executable, *argv], cwd=folder, env=_fresh_env(),
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


# ------------------------------------------------------------------ the zip


@pytest.mark.slow
def test_the_zip_holds_what_the_sheet_asks_for_and_nothing_heavy(handin: Handin) -> None:
    with zipfile.ZipFile(handin.zip) as archive:
        names = archive.namelist()
    assert names[:3] == ["README.txt", "report.pdf", "exercise_1.ipynb"]
    assert set(SCRIPTS) <= set(names) and "chainrule/__init__.py" in names
    assert not [n for n in names if n.endswith((".pt", ".pyc", ".json")) or ".cache" in n
                or "__pycache__" in n]
    assert handin.zip.stat().st_size < 3_000_000
    assert sorted(p.name for p in handin.zip.parent.iterdir()) == [handin.zip.name]  # no temp


@pytest.mark.slow
def test_page_one_of_the_pdf_names_the_group_and_every_member(handin: Handin) -> None:
    pdf = handin.unpacked / "report.pdf"
    page_one = subprocess.run(["pdftotext", "-f", "1", "-l", "1", "-layout", str(pdf), "-"],
                              capture_output=True, text=True, check=True).stdout
    assert "Group 7" in page_one
    for name, number in MEMBERS:
        assert re.search(rf"{re.escape(name)}\s+{number}", page_one), (name, page_one[:800])
    page_two = subprocess.run(["pdftotext", "-f", "2", "-l", "2", str(pdf), "-"],
                              capture_output=True, text=True, check=True).stdout
    assert "1.1 Basics" in page_two  # the solution follows, as in every report


@pytest.mark.slow
def test_the_notebook_is_saved_executed_with_its_outputs(handin: Handin) -> None:
    notebook = nbformat.read(handin.unpacked / "exercise_1.ipynb", as_version=4)
    nbformat.validate(notebook)
    assert notebook.metadata.kernelspec.name == "python3"  # opens in any Jupyter
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert [cell.execution_count for cell in code] == list(range(1, len(code) + 1))
    assert all(cell.outputs for cell in code)
    outputs = [out for cell in code for out in cell.outputs]
    assert not [out for out in outputs if out.output_type == "error"]
    text = "".join(out.get("text", "") for out in outputs if out.output_type == "stream")
    bonus = next(cell for cell in code if "bonus_accuracy = " in cell.source)
    printed = "".join(out.get("text", "") for out in bonus.outputs)
    accuracy = re.search(r"test accuracy: (\d+\.\d+)%", printed)
    assert accuracy and float(accuracy[1]) > 95, printed  # the bonus network, on 10,000 images
    assert "subset of 10000 training images" in text  # the quick budget's subset, said so
    assert "10000 for training, 5000 for validation, 10000 for testing" in text
    note = notebook.cells[0]
    assert note.cell_type == "markdown" and "Group 7" in note.source
    assert "first 10,000 of the 55,000 training images" in note.source
    assert sum("image/png" in out.get("data", {}) for out in outputs) == 3


@pytest.mark.slow
def test_readme_says_what_is_where_and_how_it_was_made(handin: Handin) -> None:
    readme = (handin.unpacked / "README.txt").read_text(encoding="utf-8")
    for name in ("report.pdf", "exercise_1.ipynb", *SCRIPTS, "chainrule/"):
        assert name in readme
    assert f"chainrule {__version__}" in readme
    assert f"chainrule handin --members {handin.members_file} --budget test" in readme
    assert "Jürgen Müller (654321)" in readme


@pytest.mark.slow
def test_a_second_handin_reuses_the_report_cache(handin: Handin, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import chainrule.handin.build as build
    from chainrule.handin.notebook import ExecutedNotebook

    def quick_notebook(note: str, subset: int) -> ExecutedNotebook:  # only the report is asked
        return ExecutedNotebook(note, 0.0, 0)

    monkeypatch.setattr(build, "execute_notebook", quick_notebook)
    assert _handin(handin.members_file, tmp_path, handin.report) == 0
    with zipfile.ZipFile(tmp_path / "exercise_1_group_7.zip") as archive:
        readme = archive.read("README.txt").decode()
    parts = re.search(r"report: (\d+) parts, (\d+) reused", readme)
    assert parts and parts[1] == parts[2] and int(parts[1]) > 10, readme


@pytest.mark.slow
def test_the_report_command_takes_the_same_group(handin: Handin, tmp_path: Path) -> None:
    import shutil

    shutil.copytree(handin.report / ".cache", tmp_path / ".cache")  # every part is cached
    assert main(["report", "--budget", "test", "--out", str(tmp_path), "--no-pdf", "-q",
                 "--members", str(handin.members_file)]) == 0
    page = (tmp_path / "index.html").read_text(encoding="utf-8")
    header = page[page.index('<header class="title">') : page.index("</header>")]
    assert "Group 7</div>" in header and "<td>Jürgen Müller</td><td>654321</td>" in header
    markdown = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "**Group 7**" in markdown and "| Ada Lovelace | 123456 |" in markdown


@pytest.mark.usefixtures("no_work")
def test_the_report_command_refuses_a_bad_group_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "--out", str(tmp_path / "r"), "--group", "7/8",
                 "--member", "Ada:1"]) == 2
    assert "--group '7/8'" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


# ------------------------------------------------------------------ the scripts


@pytest.mark.slow
def test_the_scripts_import_the_chainrule_shipped_in_the_zip(handin: Handin) -> None:
    where = _run_script(handin.unpacked, "-c", "import chainrule; print(chainrule.__file__)")
    assert Path(where.strip()) == handin.unpacked / "chainrule" / "__init__.py"


@pytest.mark.slow
def test_section_1_2_script_reproduces_the_sheet_numbers(handin: Handin) -> None:
    out = _run_script(handin.unpacked, "section_1_2_graphs.py")
    a, b, c, d = 2.0, -7.0, 4.0, 1.0
    assert "Summary: A = 30; dA/da = 1, dA/db = -4, dA/dc = 7, dA/dd = 30" in out
    assert f"Summary: B = {math.sqrt(a + b + c**3) + math.log(a / d):.10g};" in out
    assert f"dB/dc = {3 * c**2 / (2 * math.sqrt(a + b + c**3)):.6g}" in out
    assert f"Summary: C = {d - math.exp((a + b) * c):.10g};" in out
    assert f"dC/dc = {-(a + b) * math.exp((a + b) * c):.6g}" in out
    assert "v1 = b · c = (−7)(4) = −28" in out  # the forward pass, written out


@pytest.mark.slow
def test_section_1_3_script_reproduces_the_chain(handin: Handin) -> None:
    out = _run_script(handin.unpacked, "section_1_3_vanishing.py")
    assert "maximum: sigma'(0) = 1/4" in out
    activation, gradient = 0.5, 1.0
    for _ in range(5):  # y = a_5, a_i = sigma(a_(i-1)): the product of sigma' along the way
        activation = 1 / (1 + math.exp(-activation))
        gradient *= activation * (1 - activation)
    assert f"dy/dx by backpropagation: {gradient:.12g}" in out


@pytest.mark.slow
def test_section_1_4_script_trains_on_a_subset(handin: Handin) -> None:
    out = _run_script(handin.unpacked, "section_1_4_training.py", "--preset", "mlp",
                      "--subset", "2000")
    found = re.search(r"^mlp\s+(\d+\.\d+)%", out, re.MULTILINE)
    assert found and float(found[1]) > 80, out[-800:]  # far above chance (10%) on 2,000 images


# ------------------------------------------------------------------ bad input, interruptions


BAD = [
    (["--group", "7", "--member", "Ada Lovelace"], "no matriculation number"),
    (["--group", "7", "--member", "Ada Lovelace:"], "no matriculation number"),
    (["--group", "", "--member", "Ada:1"], "--group is empty"),
    (["--group", "  ", "--member", "Ada:1"], "--group is empty"),
    (["--member", "Ada:1"], "--group is missing"),
    (["--group", "7"], "no members"),
    (["--group", "7/8", "--member", "Ada:1"], "--group '7/8'"),
    (["--group", "7 b", "--member", "Ada:1"], "--group '7 b'"),
    (["--group", "7", "--member", "A/da:1"], "cannot go into a file name"),
    (["--group", "7", "--member", "Ada\tL:1"], "the name holds"),
    (["--group", "7", "--member", ":123"], "the name is empty"),
    (["--group", "7", "--member", "Ada:12 34"], "matriculation number '12 34'"),
    (["--group", "7", "--member", "Ada:1", "--member", "Alan:1"], "appears twice"),
]


@pytest.fixture
def no_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """Bad input must stop before the report or the notebook start: fail at once if they do."""
    import chainrule.handin.build as build
    import chainrule.report.build as report_build

    def started(*args: object, **kwargs: object) -> None:
        raise AssertionError("the work started on bad input")

    monkeypatch.setattr(build, "build_report", started)
    monkeypatch.setattr(build, "execute_notebook", started)
    monkeypatch.setattr(report_build, "build_report", started)


@pytest.mark.parametrize(("argv", "message"), BAD)
@pytest.mark.usefixtures("no_work")
def test_bad_input_is_one_line_exit_2_before_any_work(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["handin", *argv, "--out", str(tmp_path / "out"),
                   "--report", str(tmp_path / "report")])
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith("error: ") and message in err and err.count("\n") == 1, err
    assert list(tmp_path.iterdir()) == []  # nothing written, nothing computed


@pytest.mark.parametrize(("text", "message"), [
    ("group = 7\nmembers = [\"Ada\"]\n", "member 1: no matriculation number"),
    ("group = 7\nmembers = [{ name = \"Ada\" }]\n", "member 1: no matriculation number"),
    ("group = \"7/8\"\nmembers = [\"Ada:1\"]\n", "group '7/8'"),
    ("group = 7\nmembers = [\"Ada:1\"\n", "not valid TOML"),
    ("group = 7\nmember = [\"Ada:1\"]\n", "unknown key 'member'"),
    ("group = 7\nmembers = \"Ada:1\"\n", "members must be a list"),
    ("members = [\"Ada:1\"]\n", "--group is missing"),
])
@pytest.mark.usefixtures("no_work")
def test_a_bad_members_file_is_one_line_exit_2(
    text: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    members = tmp_path / "group.toml"
    members.write_text(text, encoding="utf-8")
    status = main(["handin", "--members", str(members), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert status == 2 and message in err and err.count("\n") == 1, err
    assert not (tmp_path / "out").exists()


@pytest.mark.usefixtures("no_work")
def test_a_missing_members_file_and_mixed_sources_are_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["handin", "--members", str(tmp_path / "nope.toml")]) == 2
    assert "cannot read the members file" in capsys.readouterr().err
    members = tmp_path / "group.toml"
    members.write_text(MEMBERS_FILE, encoding="utf-8")
    assert main(["handin", "--members", str(members), "--member", "Ada:1"]) == 2
    assert "not both" in capsys.readouterr().err


_NAME_CHARACTERS = st.characters(exclude_categories=("C", "Z"),
                                 exclude_characters="".join(RESERVED), include_characters=" ")


_ALNUM = "abcxyzABCXYZ0123456789"
_MATRICULATION = st.tuples(st.text(_ALNUM, max_size=6), st.sampled_from("0123456789"),
                           st.text(_ALNUM + "-", max_size=6)).map("".join)


@given(name=st.text(_NAME_CHARACTERS, min_size=1, max_size=40).filter(str.strip),
       number=_MATRICULATION)
def test_any_printable_name_and_number_round_trip(name: str, number: str) -> None:
    member = parse_member(f"{name}:{number}")
    assert member == Member(" ".join(name.split()), number)


@given(name=st.text(min_size=1, max_size=20), bad=st.sampled_from(sorted(RESERVED - {":"})))
def test_a_reserved_character_in_a_name_is_refused(name: str, bad: str) -> None:
    with pytest.raises(GroupError):
        parse_member(f"{name}{bad}:123456")


def test_a_failed_zip_write_keeps_the_old_zip_whole(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "exercise_1_group_7.zip"
    write_zip(target, {"README.txt": "the old hand-in\n"})
    before = target.read_bytes()
    calls = []

    def failing_writestr(self: zipfile.ZipFile, *args: object, **kwargs: object) -> None:
        calls.append(args)
        if len(calls) == 2:
            raise KeyboardInterrupt  # as if the user pressed Ctrl-C half-way through
        original(self, *args, **kwargs)  # type: ignore[arg-type]

    original = zipfile.ZipFile.writestr
    monkeypatch.setattr(zipfile.ZipFile, "writestr", failing_writestr)
    with pytest.raises(KeyboardInterrupt):
        write_zip(target, {"README.txt": "new\n", "report.pdf": b"%PDF" * 1000})
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [target.name]  # the partial file is gone


@pytest.mark.slow
def test_a_killed_handin_leaves_no_zip(handin: Handin, tmp_path: Path) -> None:
    import shutil

    shutil.copytree(handin.report, tmp_path / "report")  # cached: quickly at the notebook
    command = [sys.executable, "-m", "chainrule", "handin", "--members",
               str(handin.members_file), "--budget", "test", "--out", str(tmp_path / "zips"),
               "--report", str(tmp_path / "report")]
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=env,
                               start_new_session=True)  # its own group: the kernel dies too
    assert process.stderr is not None
    deadline, seen = time.monotonic() + 300, ""
    try:
        while "handin: executing" not in seen and time.monotonic() < deadline:
            ready, _, _ = select.select([process.stderr], [], [], 5)
            if ready:
                line = process.stderr.readline()
                if not line:
                    break
                seen += line
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    assert "handin: executing" in seen, seen[-2000:]  # killed in the middle of the work
    zips = tmp_path / "zips"
    assert not (zips / "exercise_1_group_7.zip").exists()
    assert not zips.exists() or not [p for p in zips.iterdir() if p.suffix == ".zip"]
