"""The examples in docs/*.md and README.md are run, and their shown output checked.

Conventions every document follows (read them before writing an example):

- A ```python block is executed. The blocks of one document run in order in
  one namespace (like a notebook), with a scratch directory as the working
  directory; the scratch directory mirrors the repository root (a symlink per
  top-level entry), so `adjit/examples/textbook.py` resolves as from the root
  and files an example writes do not land in the repository.
- Expected values: a top-level expression statement whose last line ends in
  `# -> TEXT` must evaluate to a value whose `repr` is TEXT. A statement whose
  last line ends in `# raises NAME` or `# raises NAME: MESSAGE` must raise an
  exception whose class (or a base class) is called NAME, with `str(exc)`
  matching MESSAGE. Other comments are ordinary comments.
- A ```sh block whose first command is `adjit ...` or `python -m adjit ...` is
  run command by command through `adjit.cli.main(shlex.split(...))`, from the
  same scratch directory. Every command in it must be an adjit command. A
  command must exit with 0 unless its line ends in `# exit N`. Other ```sh
  blocks (installation, ...) are not run.
- A ```text block that follows a ```python or ```sh block with only blank
  lines between them is that block's expected output (standard output for
  python; standard output and standard error together for sh).
- In expected TEXT, MESSAGE and ```text output, `...` matches any text
  (newlines included); trailing whitespace and trailing blank lines are
  ignored.
- HTML comments on the lines just above a fence are markers:
  `<!-- skip-test -->` skips the block (keep this rare: never for a feature
  that exists); `<!-- file: NAME -->` writes a block's text to NAME in the
  scratch directory instead of running it (the program files that shell
  examples use); `<!-- requires: TOOL -->` skips the block when TOOL is not
  on PATH (Graphviz's `dot` for SVG and PNG output).

Python blocks are compiled under the name `<docs/NAME.md>` with their lines
at their line numbers in the document, so adjit finds a function's source the
way it does in a notebook and reports errors at the document's lines.

Besides running examples, this file checks that docs/ir.md lists exactly the
ops that exist, that docs/subset.md names every library function the frontend
accepts, that docs/cli.md names every subcommand and option, that
docs/api.md names every public name of the package, and that docs/README.md
links every document.
"""
from __future__ import annotations

import ast
import contextlib
import io
import os
import linecache
import re
import shlex
import shutil
import sys
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from adjit import cli

REPO_ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted((REPO_ROOT / "docs").glob("*.md")) + [REPO_ROOT / "README.md"]
DOCS = [p for p in DOCS if p.exists()]

FENCE = re.compile(r"^(`{3,})\s*([\w+-]*)\s*$")
MARKER = re.compile(r"^<!--\s*([\w-]+)(?::\s*(.*?))?\s*-->$")
EXIT_COMMENT = re.compile(r"\s#\s*exit\s+(\d+)\s*$")
ADJIT_COMMAND = re.compile(r"^(?:adjit|python3? -m adjit)(?:\s|$)")


@dataclass
class Block:
    doc: Path
    lang: str
    line: int  # 1-based line of the first line of code (after the fence)
    text: str
    markers: dict[str, str] = field(default_factory=dict)
    output: str | None = None  # the ```text block that follows, if any

    @property
    def where(self) -> str:
        return f"{self.doc.relative_to(REPO_ROOT)}:{self.line}"


def parse_blocks(path: Path) -> list[Block]:
    """The fenced blocks of a Markdown file, with their markers and outputs."""
    lines = path.read_text().splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, lang = m.group(1), m.group(2).lower()
        end = i + 1
        while end < len(lines) and lines[end].strip() != fence:
            end += 1
        markers = {}
        k = i - 1
        while k >= 0 and not lines[k].strip():
            k -= 1
        while k >= 0 and MARKER.match(lines[k].strip()):
            name, value = MARKER.match(lines[k].strip()).groups()
            markers[name] = value or ""
            k -= 1
        block = Block(path, lang, i + 2, "\n".join(lines[i + 1:end]) + "\n", markers)
        previous = blocks[-1] if blocks else None
        gap = lines[previous_end + 1:i] if previous else []
        if (lang == "text" and previous is not None and previous.lang in ("python", "sh")
                and previous.output is None and all(not g.strip() for g in gap)
                and not markers):
            previous.output = block.text
        else:
            blocks.append(block)
        previous_end = end
        i = end + 1
    return blocks


def matches(expected: str, actual: str) -> bool:
    """`expected` with `...` as a wildcard, ignoring trailing whitespace."""
    def norm(text: str) -> str:
        return "\n".join(line.rstrip() for line in text.strip("\n").splitlines()).rstrip()

    pattern = ".*?".join(re.escape(part) for part in norm(expected).split("..."))
    return re.fullmatch(pattern, norm(actual), re.DOTALL) is not None


def trailing_comments(source: str) -> dict[int, str]:
    """Line number -> the text of the comment that ends that line."""
    out = {}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            out[tok.start[0]] = tok.string[1:].strip()
    return out


class DocRunner:
    def __init__(self, doc: Path, scratch: Path, monkeypatch: pytest.MonkeyPatch):
        self.doc = doc
        self.scratch = scratch
        self.monkeypatch = monkeypatch
        self.blocks = parse_blocks(doc)
        self.filename = f"<{doc.relative_to(REPO_ROOT)}>"
        self.namespace: dict = {"__name__": "__adjit_docs__"}
        self.python_view = self.build_python_view()

    def build_python_view(self) -> str:
        """The document with every line blanked except the python blocks that run."""
        total = len(self.doc.read_text().splitlines())
        view = [""] * (total + 1)
        for b in self.blocks:
            if b.lang == "python" and self.runs(b) and "file" not in b.markers:
                for k, text in enumerate(b.text.splitlines()):
                    view[b.line - 1 + k] = text
        return "\n".join(view) + "\n"

    @staticmethod
    def runs(block: Block) -> bool:
        if "skip-test" in block.markers:
            return False
        tool = block.markers.get("requires")
        return not tool or shutil.which(tool) is not None

    def run(self) -> int:
        lines = self.python_view.splitlines(keepends=True)
        linecache.cache[self.filename] = (len(self.python_view), None, lines, self.filename)
        self.monkeypatch.chdir(self.scratch)
        count = 0
        try:
            for block in self.blocks:
                if not self.runs(block):
                    continue
                if "file" in block.markers:
                    self.write_file(block)
                elif block.lang == "python":
                    self.run_python(block)
                    count += 1
                elif block.lang == "sh" and ADJIT_COMMAND.match(first_command(block.text)):
                    self.run_sh(block)
                    count += 1
        finally:
            linecache.cache.pop(self.filename, None)
        return count

    def write_file(self, block: Block) -> None:
        target = self.scratch / block.markers["file"]
        assert not target.is_symlink() and not target.exists(), \
            f"{block.where}: file marker {block.markers['file']!r} would overwrite a file"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(block.text)

    def run_python(self, block: Block) -> None:
        # Parse the document's python view so statements keep the document's lines.
        tree = ast.parse(self.python_view, self.filename)
        last = block.line + len(block.text.splitlines()) - 1
        statements = [s for s in tree.body if block.line <= s.lineno <= last]
        comments = trailing_comments(self.python_view)
        stdout = io.StringIO()
        with contextlib.redirect_stdout(stdout):
            for stmt in statements:
                self.run_statement(block, stmt, comments.get(stmt.end_lineno, ""))
        if block.output is not None:
            assert matches(block.output, stdout.getvalue()), (
                f"{block.where}: the printed output differs from the ```text block\n"
                f"--- expected\n{block.output}--- got\n{stdout.getvalue()}")

    def run_statement(self, block: Block, stmt: ast.stmt, comment: str) -> None:
        where = f"{self.doc.relative_to(REPO_ROOT)}:{stmt.lineno}"
        if comment.startswith("->"):
            assert isinstance(stmt, ast.Expr), f"{where}: `# ->` needs an expression statement"
            code = compile(ast.Expression(stmt.value), self.filename, "eval")
            value = eval(code, self.namespace)  # noqa: S307 - the docs' own examples
            expected = comment[2:].strip()
            assert matches(expected, repr(value)), \
                f"{where}: expected {expected}, got {value!r}"
            return
        code = compile(ast.Module([stmt], []), self.filename, "exec")
        if comment.startswith("raises "):
            name, _, message = comment[len("raises "):].partition(":")
            try:
                exec(code, self.namespace)  # noqa: S102
            except Exception as exc:  # noqa: BLE001 - compared by name below
                names = [cls.__name__ for cls in type(exc).__mro__]
                assert name.strip() in names, f"{where}: expected {name}, got {exc!r}"
                if message.strip():
                    assert matches(message.strip(), str(exc)), \
                        f"{where}: expected message {message.strip()!r}, got {str(exc)!r}"
                return
            pytest.fail(f"{where}: expected {name.strip()} to be raised")
        exec(code, self.namespace)  # noqa: S102

    def run_sh(self, block: Block) -> None:
        output = io.StringIO()
        for line_no, command in shell_commands(block):
            where = f"{self.doc.relative_to(REPO_ROOT)}:{line_no}"
            assert ADJIT_COMMAND.match(command), \
                f"{where}: a block of adjit commands holds another command: {command!r}"
            m = EXIT_COMMENT.search(command)
            expected = int(m.group(1)) if m else 0
            argv = shlex.split(command, comments=True)
            argv = argv[3:] if argv[0].startswith("python") else argv[1:]
            with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
                code = cli.main(argv)
            assert code == expected, (f"{where}: `{command}` exited with {code}, expected "
                                      f"{expected}\n{output.getvalue()}")
        if block.output is not None:
            if os.environ.get("ADJIT_UPDATE_DOCS") and not matches(block.output,
                                                                  output.getvalue()):
                # Regenerate the shown output after an intended change; review the diff.
                text = self.doc.read_text()
                self.doc.write_text(text.replace(block.output, output.getvalue(), 1))
                return
            assert matches(block.output, output.getvalue()), (
                f"{block.where}: the output differs from the ```text block\n"
                f"--- expected\n{block.output}--- got\n{output.getvalue()}")


def first_command(text: str) -> str:
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            return line.strip().removeprefix("$ ")
    return ""


def shell_commands(block: Block) -> list[tuple[int, str]]:
    """(line, command) pairs; a trailing backslash continues a command."""
    out: list[tuple[int, str]] = []
    pending, start = "", 0
    for k, line in enumerate(block.text.splitlines()):
        stripped = line.strip().removeprefix("$ ")
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if not pending:
            start = block.line + k
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        out.append((start, pending + stripped))
        pending = ""
    return out


def mirror_repo(scratch: Path) -> Path:
    for entry in REPO_ROOT.iterdir():
        if entry.name not in (".git",):
            (scratch / entry.name).symlink_to(entry)
    return scratch


@pytest.mark.parametrize("doc", DOCS, ids=[str(p.relative_to(REPO_ROOT)) for p in DOCS])
def test_doc_examples(doc: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    DocRunner(doc, mirror_repo(tmp_path), monkeypatch).run()


# --- the runner itself ---------------------------------------------------------

def test_runner_conventions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The conventions above, on a small document (so a broken runner cannot
    pass the real documents vacuously)."""
    doc = tmp_path / "docs" / "sample.md"
    doc.parent.mkdir()
    doc.write_text(
        "Intro.\n\n```python\nimport adjit\n\ndef sq(x):\n    return x * x\n\n"
        "adjit.interpret(sq)(3.0)  # -> 9.0\nadjit.interpret(sq)(2)  # -> 4\n"
        "print('hi')\n```\n\n```text\nhi\n```\n\n"
        "<!-- file: prog.py -->\n```python\ndef g(x):\n    return 1.0 / x\n```\n\n"
        "```sh\nadjit run prog.py g 4\nadjit run prog.py g 0  # exit 1\n```\n\n"
        "```text\n0.25\nZeroDivisionError: float division by zero (at prog.py:2:12: ...)\n```\n\n"
        "```python\nadjit.interpret(sq)(1.0, 2.0)  # raises TypeError: sq() takes 1 ...\n```\n\n"
        "<!-- skip-test -->\n```python\nraise SystemExit('not run')\n```\n\n"
        "```sh\npip install nothing\n```\n")
    monkeypatch.setattr(sys.modules[__name__], "REPO_ROOT", tmp_path)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    runner = DocRunner(doc, scratch, monkeypatch)
    assert [b.lang for b in runner.blocks] == ["python", "python", "sh", "python", "python", "sh"]
    assert runner.blocks[0].output == "hi\n"
    assert runner.run() == 3


def test_runner_reports_wrong_values(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(sys.modules[__name__], "REPO_ROOT", tmp_path)
    for body in ("```python\n1 + 1  # -> 3\n```\n",
                 "```python\nprint(1)\n```\n\n```text\n2\n```\n",
                 "```python\n1 / 1  # raises ZeroDivisionError\n```\n",
                 "```sh\nadjit demo\n```\n\n```text\nsomething else\n```\n",
                 "```sh\nadjit run missing.py f  # exit 0\n```\n"):
        doc = tmp_path / "bad.md"
        doc.write_text(body)
        with pytest.raises((AssertionError, pytest.fail.Exception)):
            DocRunner(doc, tmp_path, monkeypatch).run()


def test_ellipsis_matching():
    assert matches("11.652...", "11.652071455223084")
    assert matches("a\n...\nz\n", "a\nb\nc\nz")
    assert matches("x  \n\n", "x")
    assert not matches("11.652...", "11.653")


# --- documents that must track the code ------------------------------------------

def test_ir_doc_lists_exactly_the_ops():
    from adjit.ir.ops import OPS

    text = (REPO_ROOT / "docs" / "ir.md").read_text()
    ops_section = text[text.index("\n## Ops\n"):]
    ops_section = ops_section[:ops_section.index("\n## ", 1)]
    documented = set(re.findall(r"^\| `([a-z_0-9]+)` \|", ops_section, re.MULTILINE))
    assert documented - set(OPS) == set(), "docs/ir.md documents ops that do not exist"
    assert set(OPS) - documented == set(), "ops missing from docs/ir.md's op tables"


def test_subset_doc_names_every_library_function():
    from adjit.frontend import library as lib

    text = (REPO_ROOT / "docs" / "subset.md").read_text()
    math_names = {*lib.MATH_UNARY, *lib.MATH_BINARY, *lib.MATH_TO_INT, *lib.MATH_SPECIAL}
    numpy_names = {*lib.NUMPY_UNARY, *lib.NUMPY_BINARY, *lib.NUMPY_SPECIAL, *lib.NUMPY_ALLOC,
                   *lib.NUMPY_ALLOC_LIKE, "abs", "absolute"}

    def named(name: str) -> bool:  # `name` or `name(...)` in code
        return re.search(rf"`{re.escape(name)}[`(]", text) is not None

    missing = [f"math.{n}" for n in sorted(math_names) if not named(f"math.{n}")]
    missing += [f"np.{n}" for n in sorted(numpy_names) if not named(f"np.{n}")]
    missing += [f"{'np' if m == 'numpy' else m}.{n}" for m, n in lib.CONSTANTS
                if not named(f"{'np' if m == 'numpy' else m}.{n}")]
    missing += [f"{n}()" for n in lib.BUILTINS if not named(n)]
    assert missing == [], f"docs/subset.md does not mention {missing}"


def test_cli_doc_names_every_subcommand_and_option():
    import argparse

    text = (REPO_ROOT / "docs" / "cli.md").read_text()
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    missing = []
    for name, subparser in sub.choices.items():
        if f"adjit {name}" not in text:
            missing.append(f"adjit {name}")
        for action in subparser._actions:
            for option in action.option_strings:
                if option not in ("-h", "--help") and f"`{option}" not in text:
                    missing.append(f"{name} {option}")
            for choice in action.choices or ():
                written = [f"`{choice}`"] + [f"{o} {choice}`" for o in action.option_strings]
                if not any(w in text for w in written):
                    missing.append(f"{name} {action.dest} {choice}")
    assert missing == [], f"docs/cli.md does not mention {missing}"


def test_api_doc_names_every_public_name():
    import inspect

    import adjit
    from adjit.api import Staged

    text = (REPO_ROOT / "docs" / "api.md").read_text()
    names = set(adjit.__all__)
    names |= {m for m in vars(Staged) if m.startswith("inspect_")}
    names |= {n for n, v in vars(adjit.config).items()
              if inspect.isfunction(v) and v.__module__ == adjit.config.__name__
              and not n.startswith("_")}
    missing = sorted(n for n in names
                     if not re.search(rf"`(?:config\.)?{re.escape(n)}[`(]", text))
    assert missing == [], f"docs/api.md does not mention {missing}"


def test_docs_index_links_every_document():
    text = (REPO_ROOT / "docs" / "README.md").read_text()
    pages = {p.name for p in (REPO_ROOT / "docs").glob("*.md")} - {"README.md"}
    linked = set(re.findall(r"\]\(([\w.-]+\.md)\)", text))
    assert pages - linked == set(), f"docs/README.md does not link {sorted(pages - linked)}"
    assert linked - pages == set(), f"docs/README.md links missing {sorted(linked - pages)}"


def test_an_interpreter_without_the_dependencies_is_told_the_readme_command(monkeypatch):
    import importlib.util

    import conftest

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "lark" else real(name, *a))
    with pytest.raises(pytest.UsageError) as info:
        conftest.pytest_configure(None)
    assert "lacks adjit's test dependencies (lark)" in str(info.value)
    assert ".venv/bin/pip install '.[test]'" in str(info.value)
