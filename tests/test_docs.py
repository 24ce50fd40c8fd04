"""The documentation runs: every code block of README.md and docs/**/*.md is executed, its shown output
compared, and every link and file name it gives exists (sybil, one test per page).

What each kind of fenced block means (a block of any other kind fails until it runs or is skipped):

- ```` ```python ````: run in the page's namespace; with `>>>` lines it is a doctest whose shown
  output is compared (ELLIPSIS: `...` stands for any text).
- ```` ```console ````: each `$ stepgrad ARGS` line runs `python -m stepgrad ARGS` (no shell: the line is
  split like a shell would, `#` starts a comment, a final `< FILE` is standard input) in the page's own
  temporary folder, where `examples/` is the repository's; the lines up to the next `$ ` are its output
  (standard output and error, as a terminal shows them, 100 columns), compared exactly but for
  trailing spaces, where a line `...` stands for any lines (or none) and `...` within a line for any
  text in it.
- a block with `title="NAME"` in its info string (` ```toml title="net.toml" `): the file NAME, written
  into that folder for the commands after it (mkdocs-material shows the title above the block).
- `<!-- skip: next -->` before a block: shown, not run (`make demo`, `stepgrad serve`, pdflatex). They are
  counted below, so they stay few.
"""

from __future__ import annotations

import doctest
import importlib
import importlib.util
import os
import re
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

import pytest
from sybil import Document, Example, Region, Sybil
from sybil.evaluators.doctest import DocTestEvaluator
from sybil.evaluators.python import PythonEvaluator
from sybil.example import SybilFailure
from sybil.parsers.abstract.doctest import DocTestStringParser
from sybil.parsers.markdown import SkipParser
from sybil.parsers.markdown.lexers import RawFencedCodeBlockLexer

ROOT = Path(__file__).resolve().parent.parent
# docs/gallery/ holds notes stepgrad wrote (examples/gallery/build.py), not pages written by hand.
DOCUMENTS = [ROOT / "README.md", *sorted(p for p in (ROOT / "docs").rglob("*.md") if "gallery" not in p.parts)]
MAX_SKIPPED = 8  # blocks shown but not run, over all pages: keep them few
COLUMNS = 100
FENCE_INFO = re.compile(r"(?P<info>[^\n]*)$\n", re.MULTILINE)
TITLE = re.compile(r'title="([^"]+)"')


def _rstripped(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip("\n").splitlines())


def _matches(want: str, got: str) -> bool:
    """`got` is `want` where a line `...` stands for any lines (or none) and `...` in a line for any text."""
    pattern = "".join(r"(?:[^\n]*\n)*?" if line.strip() == "..." else
                      r"[^\n]*?".join(map(re.escape, line.split("..."))) + r"\n" for line in want.splitlines())
    return re.fullmatch(pattern, got) is not None


def _env() -> dict[str, str]:
    """The environment of a reader's terminal at 100 columns, without colour or CI-only switches."""
    env = {k: v for k, v in os.environ.items()
           if k not in {"FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "CLICOLOR_FORCE", "LINES"}}
    env.update(COLUMNS=str(COLUMNS), NO_COLOR="1", TERM="dumb", PYTHONHASHSEED="0", PYTHONIOENCODING="utf-8")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    return env


def _folder(example: Example) -> Path:
    return Path(example.namespace["__folder__"])


def run_console(example: Example) -> str | None:
    """Run each `$ stepgrad ...` line of a console block; a mismatch is the failure message."""
    commands: list[tuple[str, list[str]]] = []
    for line in str(example.parsed).rstrip("\n").splitlines():
        if line.startswith("$ "):
            commands.append((line[2:], []))
        elif commands:
            commands[-1][1].append(line)
        else:
            return f"a console block starts with `$ stepgrad ...`, not {line!r}"
    for command, shown in commands:
        argv = shlex.split(command, comments=True)
        if not argv or argv[0] != "stepgrad":
            return f"only stepgrad commands run in the docs: {command!r}"
        stdin = None
        if len(argv) > 2 and argv[-2] == "<":  # `< FILE`: the answers a user would type
            stdin, argv = (_folder(example) / argv[-1]).read_text(), argv[:-2]
        proc = subprocess.run([sys.executable, "-m", "stepgrad", *argv[1:]], cwd=_folder(example), env=_env(),
                              input=stdin, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
        want, got = _rstripped("\n".join(shown)) + "\n", _rstripped(proc.stdout) + "\n"
        if want == "\n" and got != "\n":
            return f"$ {command}\nprints output the page does not show (write `...` to elide it):\n{got}"
        if not _matches(want, got):
            return f"$ {command}\n--- shown\n{want}--- printed (exit status {proc.returncode})\n{got}"
    return None


def write_file(example: Example) -> None:
    """A block titled NAME is the file NAME in the page's folder."""
    path = _folder(example) / example.region.lexemes["title"]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(str(example.parsed))


def not_run(example: Example) -> str:
    return (f"a ```{example.region.lexemes['language']} block neither runs nor is a file: make it run "
            "(python, console, title=\"FILE\") or put <!-- skip: next --> before it")


class FencedBlocks:
    """Every fenced block of a page becomes an example (see the module docstring)."""

    def __init__(self) -> None:
        self.doctests = DocTestStringParser(DocTestEvaluator(doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE))
        self.lexer = RawFencedCodeBlockLexer(info_pattern=FENCE_INFO)

    def __call__(self, document: Document) -> Iterable[Region]:
        for region in self.lexer(document):
            info = region.lexemes["info"].strip()
            language = info.split()[0] if info else ""
            title = TITLE.search(info)
            source = region.lexemes["source"]
            region.lexemes.update(language=language, title=title.group(1) if title else None)
            region.parsed = source
            if title:
                region.evaluator = write_file
            elif language == "python" and source.lstrip().startswith(">>>"):
                for doctest_region in self.doctests(source, document.path):
                    doctest_region.adjust(region, source)
                    yield doctest_region
                continue
            elif language == "python":
                region.evaluator = PythonEvaluator()
            elif language == "console":
                region.evaluator = run_console
            else:
                region.evaluator = not_run
            yield region


SYBIL = Sybil(parsers=[FencedBlocks(), SkipParser()], path=str(ROOT))


def _page_id(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.slow  # every page's commands run: make test (CI); make check keeps the links and names
@pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")  # as in test_web_api.py
@pytest.mark.parametrize("path", DOCUMENTS, ids=_page_id)
def test_every_block_runs(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    document = SYBIL.parse(path)
    with tempfile.TemporaryDirectory(prefix="stepgrad-docs-") as folder:
        (Path(folder) / "examples").symlink_to(ROOT / "examples")
        document.namespace["__folder__"] = folder
        monkeypatch.chdir(folder)  # Python examples that write files (loss.png) write them there
        for example in document:
            example.evaluate()


def test_skipped_blocks_are_few() -> None:
    skipped = {_page_id(p): len(re.findall(r"<!--\s*skip:\s*next", p.read_text())) for p in DOCUMENTS}
    assert sum(skipped.values()) <= MAX_SKIPPED, skipped


LINK = re.compile(r"\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
REPO_PATH = re.compile(r"(?<![\w./-])((?:src|docs|examples|tests|benchmarks)/[\w./-]*\w)")
MODULE_FILE = re.compile(r"(?<![\w./-])stepgrad/([\w/]+\.py)")
DOTTED = re.compile(r"`(stepgrad(?:\.\w+)+)")


def _resolves(dotted: str) -> bool:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            if not hasattr(obj, name):
                return False
            obj = getattr(obj, name)
        return True
    return False


@pytest.mark.parametrize("path", DOCUMENTS, ids=_page_id)
def test_links_and_file_names_exist(path: Path) -> None:
    text = path.read_text()
    missing = []
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        if not (path.parent / target.split("#")[0]).exists():
            missing.append(f"link {target}")
    missing += [f"file {name}" for name in REPO_PATH.findall(text) if not (ROOT / name).exists()]
    missing += [f"file stepgrad/{name}" for name in MODULE_FILE.findall(text)
                if not (ROOT / "src" / "stepgrad" / name).exists()]
    missing += [f"name {name}" for name in DOTTED.findall(text) if not _resolves(name)]
    assert not missing, missing


def test_the_docs_name_every_activation_and_loss() -> None:
    """The spec guide lists the registry, entry by entry: a new activation or loss is documented or this fails."""
    from stepgrad.core.functions import ACTIVATIONS, LOSSES
    from stepgrad.core.optim import OPTIMIZERS

    spec = (ROOT / "docs" / "guides" / "spec.md").read_text()
    undocumented = [name for name in [*ACTIVATIONS, *LOSSES, *OPTIMIZERS] if f"`{name}`" not in spec]
    assert not undocumented


def test_readme_is_a_front_door() -> None:
    readme = (ROOT / "README.md").read_text()
    assert len(readme.encode()) < 20_000
    quick_start = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = [line.split("#")[0].strip() for block in re.findall(r"```sh\n(.*?)```", quick_start, re.S)
                for line in block.splitlines() if line.strip()]
    assert commands == ["make demo", "make test"]


@pytest.mark.slow  # mkdocs build: make test (CI)
def test_the_site_builds_without_a_warning(tmp_path: Path) -> None:
    """`make docs`: mkdocs build --strict (a warning is an error: a broken link, a page out of the nav)."""
    if importlib.util.find_spec("mkdocs") is None:  # under CI=true a missing tool fails (tests/conftest.py)
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("mkdocs is required under CI=true: pip install -e '.[docs]'")
        pytest.skip("the docs extra (pip install -e '.[docs]') builds the site")
    env = {**_env(), "NO_MKDOCS_2_WARNING": "1"}
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    reference = (tmp_path / "site" / "reference" / "cli" / "index.html").read_text()
    from stepgrad.cli import cli

    for name in cli.list_commands(None):  # type: ignore[arg-type]
        assert f'id="{name}"' in reference, name  # the lazily loaded commands are all in the reference
    page = (tmp_path / "site" / "index.html").read_text()
    assert "fonts.googleapis" not in page and not re.search(r'<script[^>]+src="https?:', page)  # offline


def test_elision_stands_for_lines_or_text_and_nothing_else() -> None:
    assert _matches("a\n...\nd\n", "a\nb\nc\nd\n") and _matches("a\n...\nd\n", "a\nd\n")
    assert _matches("x = ...!\n", "x = 0.5933!\n")
    assert not _matches("x = ...!\n", "x = 0.5933\n!\n")  # within a line, `...` does not cross lines
    assert not _matches("a\nd\n", "a\nb\nd\n") and not _matches("0.5933\n", "0.5934\n")


@pytest.mark.parametrize(("page", "failure"), [
    ("```console\n$ stepgrad names --digits 3\n...\nw5               = 0.41\n...\n```\n", "--- shown"),
    ("```console\n$ stepgrad names --digits 3\n```\n", "prints output the page does not show"),
    ("```console\n$ rm -rf /\n```\n", "only stepgrad commands run"),
    ("```sh\nmake demo\n```\n", "neither runs nor is a file"),
    ("```python\n>>> 1 + 1\n3\n```\n", "Expected"),
])
def test_a_page_that_says_what_the_code_does_not_do_fails(page: str, failure: str, tmp_path: Path) -> None:
    path = tmp_path / "page.md"
    path.write_text(page)
    document = SYBIL.parse(path)
    document.namespace["__folder__"] = str(tmp_path)
    with pytest.raises(SybilFailure, match=re.escape(failure)):
        for example in document:
            example.evaluate()


def test_a_skipped_block_is_not_run(tmp_path: Path) -> None:
    path = tmp_path / "page.md"
    path.write_text("<!-- skip: next -->\n```sh\nmake demo\n```\n\n```text title=\"a.txt\"\nhello\n```\n")
    document = SYBIL.parse(path)
    document.namespace["__folder__"] = str(tmp_path)
    for example in document:
        example.evaluate()
    assert (tmp_path / "a.txt").read_text() == "hello\n"
