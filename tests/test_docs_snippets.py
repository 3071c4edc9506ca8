"""The documentation's code stays honest: README.md and docs/*.md, checked cheaply.

- every fenced block has a language and is closed; every ``python`` block compiles
  (top-level ``await`` allowed);
- every ``ah.X`` / ``ahs.X`` / ``ahp.X`` name, every ``[...][asynchyper.X]`` reference
  and every ``asynchyper.X`` in backticks exists, and so does every asynchyper error
  class the pages name;
- every link between pages points to a page and a heading that exist;
- the ``python`` blocks of each page run, in order, in one module namespace, with
  budgets above ``TRIALS_CAP`` lowered; a block followed by a ``text`` block that
  starts with an exception's name must raise it with the messages shown, and a
  ``print(...)`` followed by a comment holding a Python literal must print it;
- the ``console`` session of the command-line page runs in process, in order, against
  the page's own ``train.py``: exit codes, error lines and the shape of every output
  shown (numbers masked).

Blocks with a top-level ``await`` are awaited on the test's event loop (both anyio
backends under the project's ``anyio_backend`` fixture), as in a notebook; the other
blocks call ``anyio.run`` themselves, so they run in a worker thread that has no event
loop (inside the test's loop, ``anyio.run`` fails with "Already running asyncio in
this thread"). The command-line test is synchronous for the same reason.

Fragments that cannot run here (a Hyperopt original, a cluster address, a PostgreSQL
URL, a schematic class) are named in ``SKIP`` by a substring of their text; every
entry of ``SKIP`` must still match a block, so a stale entry fails too.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import importlib.util
import inspect
import json
import logging
import os
import re
import shlex
import sys
import types
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import pytest

import asynchyper as ah

#: The async test runs on the project's anyio backends; the synchronous ones are unaffected.
pytestmark = pytest.mark.anyio


def _find_root() -> Path:
    """The checkout: $ASYNCHYPER_REPO, an ancestor of this file, or the source tree."""
    candidates = [os.environ.get("ASYNCHYPER_REPO", "")]
    candidates += [str(p) for p in Path(__file__).resolve().parents]
    candidates.append(str(Path(ah.__file__).resolve().parents[2]))  # src/asynchyper/..
    for candidate in candidates:
        if (
            candidate
            and (Path(candidate) / "docs").is_dir()
            and (Path(candidate) / "mkdocs.yml").is_file()
        ):
            return Path(candidate)
    msg = "cannot find the checkout's docs/; set ASYNCHYPER_REPO"
    raise RuntimeError(msg)


ROOT = _find_root()
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LANGUAGES = {"python", "console", "bash", "text", "yaml", ""}  # "": a diagram
#: Budgets above this are lowered when a page runs (``trials=200`` -> ``trials=20``).
TRIALS_CAP = 20
#: Blocks that must keep their budget: the number is the point.
KEEP_BUDGET = ("NoProgress(10, 5.0)",)
#: Blocks that are not run (but still compiled), by a substring of their text.
SKIP = {
    "from hyperopt import": "the Hyperopt original: needs hyperopt",
    "space_eval(hyperopt_space": "a fragment of a port",
    "await submit(": "a sketch: submit() is the reader's job API",
    "fn(trials, *, direction=None, space=None)": "a signature, not code",
    "def build(self) -> Pipeline: ...": "a schematic of ClassifierPipeline",
    "model.best_config_.modle": "a type checker's view; fits a model",
    "from mypackage.tuning import": "needs the reader's package and PostgreSQL",
    'DaskExecutor("tcp://': "needs a Dask scheduler",
    'pd.read_csv("trials.csv"': "reads the reader's export",
}
#: Pages whose blocks use names defined elsewhere (`Space`, `objective`): the README's.
NEEDS_PRELUDE = {"concurrency.md", "storage.md", "analysis.md"}
#: Pages that need an extra to run at all.
PAGE_EXTRAS = {"sklearn.md": "sklearn", "analysis.md": "matplotlib"}


@dataclass(frozen=True)
class Block:
    page: Path
    line: int  # of the opening fence, 1-based
    lang: str
    text: str

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def _blocks(page: Path) -> list[Block]:
    lines = page.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        fence = re.match(r"^(\s*)```(\S*)\s*$", lines[i])
        if fence:
            indent, lang, start, body = len(fence.group(1)), fence.group(2), i + 1, []
            i += 1
            while i < len(lines) and not re.match(r"^\s*```\s*$", lines[i]):
                body.append(lines[i][indent:])
                i += 1
            if i == len(lines):
                msg = f"{page.name}:{start}: unclosed ``` fence"
                raise AssertionError(msg)
            blocks.append(Block(page, start, lang, "\n".join(body) + "\n"))
        i += 1
    return blocks


ALL_BLOCKS = [block for page in PAGES for block in _blocks(page)]
PYTHON_BLOCKS = [b for b in ALL_BLOCKS if b.lang == "python"]


def _compile(block: Block, source: str | None = None) -> types.CodeType:
    code: types.CodeType = compile(
        block.text if source is None else source,
        block.where,
        "exec",
        flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT,
        dont_inherit=True,
    )
    return code


def _skipped(block: Block) -> str | None:
    return next((why for marker, why in SKIP.items() if marker in block.text), None)


# -- static checks -------------------------------------------------------------------


def test_every_fence_has_a_known_language() -> None:
    unknown = [f"{b.where}: ```{b.lang}" for b in ALL_BLOCKS if b.lang not in LANGUAGES]
    assert not unknown, unknown


@pytest.mark.parametrize("block", PYTHON_BLOCKS, ids=lambda b: b.where)
def test_python_block_compiles(block: Block) -> None:
    _compile(block)


def test_every_skip_entry_matches_a_block() -> None:
    stale = [marker for marker in SKIP if not any(marker in b.text for b in PYTHON_BLOCKS)]
    assert not stale, f"SKIP entries that match no block any more: {stale}"


ALIASES = {"ah": "asynchyper", "ahs": "asynchyper.sklearn", "ahp": "asynchyper.plot"}
OPTIONAL = {
    "asynchyper.sklearn": "sklearn",
    "asynchyper.plot": "matplotlib",
    "asynchyper.dask": "distributed",
}


def _named() -> dict[str, list[str]]:
    names: dict[str, list[str]] = {}
    for page in PAGES:
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
            found = [
                f"{ALIASES[alias]}.{rest}"
                for alias, rest in re.findall(
                    r"(?<![\w.])(ahs|ahp|ah)\.([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)", line
                )
            ]
            found += re.findall(r"\]\[(asynchyper(?:\.\w+)+)\]", line)
            found += re.findall(r"`(asynchyper(?:\.\w+)+)`", line)
            for name in found:
                names.setdefault(name, []).append(f"{page.name}:{number}")
    return names


def _resolve(dotted: str) -> object:
    for optional, extra in OPTIONAL.items():
        if dotted == optional or dotted.startswith(optional + "."):
            pytest.importorskip(extra)  # the tests-minimal session has no extras
    parts = dotted.split(".")
    for k in range(len(parts), 0, -1):
        module_name = ".".join(parts[:k])
        try:
            obj: object = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:  # an attribute, not a module (or a missing extra)
            if exc.name is None or not module_name.startswith(exc.name):
                raise
            continue
        for attribute in parts[k:]:
            obj = getattr(obj, attribute)
        return obj
    raise AssertionError(dotted)


@pytest.mark.parametrize(
    ("name", "where"), sorted(_named().items()), ids=lambda v: v if isinstance(v, str) else ""
)
def test_named_api_exists(name: str, where: list[str]) -> None:
    try:
        _resolve(name)
    except AttributeError as exc:
        pytest.fail(f"{name} (named at {', '.join(where)}) does not exist: {exc}")


#: Error names in the pages that are not asynchyper's (the reader's, Python's, sklearn's).
FOREIGN_ERRORS = {"DivergedError", "NotFittedError", "CancelledError"}


def test_named_error_classes_exist() -> None:
    modules: list[types.ModuleType] = [ah]
    for optional, extra in OPTIONAL.items():
        pytest.importorskip(extra)  # the pages name the extras' errors too
        modules.append(importlib.import_module(optional))
    missing = []
    for page in PAGES:
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
            for name in re.findall(r"`([A-Z]\w*Error)\b", line):
                if name in FOREIGN_ERRORS or hasattr(builtins, name):
                    continue
                if not any(isinstance(getattr(m, name, None), type) for m in modules):
                    missing.append(f"{page.name}:{number}: {name}")
    assert not missing, missing


def _slug(heading: str) -> str:
    heading = re.sub(r"[^\w\s-]", "", heading.replace("`", "").strip().lower())
    return re.sub(r"\s+", "-", heading)


def test_links_between_pages_resolve() -> None:
    anchors: dict[str, set[str]] = {}
    for page in PAGES:
        in_fence, found = False, set()
        for line in page.read_text(encoding="utf-8").splitlines():
            if line.lstrip().startswith("```"):
                in_fence = not in_fence
            elif not in_fence and (heading := re.match(r"^#+\s+(.*)", line)):
                found.add(_slug(heading.group(1)))
        anchors[page.name] = found
    broken = []
    for page in PAGES:
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
            for target in re.findall(r"\]\(([^)\s]+)\)", line):
                if re.match(r"[a-z]+://", target):
                    continue
                name, _, anchor = target.partition("#")
                name = name or page.name
                if name not in anchors:
                    broken.append(f"{page.name}:{number}: no page {target}")
                elif anchor and anchor not in anchors[name]:
                    broken.append(f"{page.name}:{number}: no heading #{anchor} in {name}")
    assert not broken, broken


# -- running the pages ---------------------------------------------------------------


def _lower_budgets(source: str) -> str:
    def lower(match: re.Match[str]) -> str:
        return f"trials={min(int(match.group(1).replace('_', '')), TRIALS_CAP)}"

    return re.sub(r"\btrials=(\d[\d_]*)", lower, source)


def _free_study(tree: ast.Module) -> bool:
    """Whether the block uses a name `study` that it never binds (a parameter binds it)."""
    loads = stores = False
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id == "study":
            loads |= isinstance(node.ctx, ast.Load)
            stores |= isinstance(node.ctx, ast.Store)
        elif isinstance(node, ast.arg) and node.arg == "study":
            stores = True
    return loads and not stores


def _expected_error(blocks: list[Block], index: int) -> list[str] | None:
    """The lines of a ``text`` block right after block ``index`` (a blank line between)
    that shows an error."""
    closing_fence = blocks[index].line + len(blocks[index].text.splitlines()) + 1
    if (
        index + 1 < len(blocks)
        and blocks[index + 1].lang == "text"
        and blocks[index + 1].line <= closing_fence + 2
    ):
        lines = blocks[index + 1].text.splitlines()
        if lines and re.match(r"^[A-Z]\w*(Error|Group): ", lines[0]):
            return lines
    return None


def _match_shown(shown: str, actual: str) -> bool:
    """A shown message equals the real one, or is a prefix of it ending in '...'."""
    shown = shown.strip()
    if shown.endswith("..."):
        return actual.startswith(shown[:-3].rstrip())
    return actual == shown


def _check_error(block: Block, exc: BaseException, shown: list[str]) -> None:
    head = f"{type(exc).__name__}: {exc}"
    assert _match_shown(shown[0], head), f"{block.where}: shown {shown[0]!r}, raised {head!r}"
    subs = [str(e) for e in getattr(exc, "exceptions", ())]
    assert len(subs) == len(shown) - 1, (
        f"{block.where}: shown {len(shown) - 1} problems, got {subs}"
    )
    for line, actual in zip(shown[1:], subs, strict=True):
        assert _match_shown(line, actual), f"{block.where}: shown {line.strip()!r}, got {actual!r}"


def _printed_literals(block: Block) -> Iterator[tuple[str, object]]:
    """``print(EXPR)`` followed by comment lines that hold a Python literal."""
    lines = block.text.splitlines()
    for i, line in enumerate(lines):
        call = re.match(r"^print\((.*)\)\s*$", line)
        comment = []
        for following in lines[i + 1 :]:
            if not following.startswith("# "):
                break
            comment.append(following[2:])
        if call and comment:
            try:
                yield call.group(1), ast.literal_eval(" ".join(comment))
            except (ValueError, SyntaxError):
                continue


def _pages_to_run() -> list[Any]:
    params = []
    for page in PAGES:
        runnable = [b for b in _blocks(page) if b.lang == "python" and not _skipped(b)]
        if runnable:
            params.append(pytest.param(page, id=page.name))
    return params


@pytest.mark.parametrize("page", _pages_to_run())
async def test_page_runs(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if page.name in PAGE_EXTRAS:
        pytest.importorskip(PAGE_EXTRAS[page.name])
    monkeypatch.chdir(tmp_path)  # study.db and friends land here
    monkeypatch.delenv("ASYNCHYPER_STORAGE", raising=False)
    # A page may add a logging handler (docs/concurrency.md does): not to later tests.
    package_logger = logging.getLogger("asynchyper")
    monkeypatch.setattr(package_logger, "handlers", list(package_logger.handlers))
    module = types.ModuleType("docs_" + re.sub(r"\W", "_", page.stem))  # not __main__
    monkeypatch.setitem(sys.modules, module.__name__, module)  # so get_type_hints finds it
    namespace = module.__dict__
    if page.name in NEEDS_PRELUDE:  # `Space` and `objective`, as the README defines them
        readme = next(b for b in _blocks(ROOT / "README.md") if b.lang == "python")
        prelude = readme.text.split("result = anyio.run(")[0]
        exec(compile(prelude, readme.where, "exec"), namespace)  # the docs' own code
    blocks = _blocks(page)
    for index, block in enumerate(blocks):
        if block.lang != "python" or _skipped(block):
            continue
        source = (
            block.text if any(k in block.text for k in KEEP_BUDGET) else _lower_budgets(block.text)
        )
        if _free_study(ast.parse(source, block.where)) and "study" not in namespace:
            body = "".join(f"    {line}\n" for line in source.splitlines())
            opening = (
                'async with ah.open_study(Space, storage="study.db", name="snippet") as study:'
            )
            source = f"{opening}\n{body}"
        code = _compile(block, source)
        shown_error = _expected_error(blocks, index)
        try:
            if code.co_flags & inspect.CO_COROUTINE:
                await eval(code, namespace)  # a top-level await, on the test's loop
            else:
                await anyio.to_thread.run_sync(exec, code, namespace)  # may call anyio.run
        except BaseException as exc:
            if shown_error is None or isinstance(exc, (KeyboardInterrupt, SystemExit)):
                msg = f"{block.where} raised {type(exc).__name__}: {exc}"
                raise AssertionError(msg) from exc
            _check_error(block, exc, shown_error)
        else:
            assert shown_error is None, f"{block.where} shows {shown_error[0]!r} but raised nothing"
        for expression, shown in _printed_literals(block):
            value = eval(expression, namespace)
            assert value == shown, (
                f"{block.where}: print({expression}) gives {value!r}, the page shows {shown!r}"
            )


# -- the command-line page -----------------------------------------------------------


def _mask(line: str, choices: tuple[str, ...] = ()) -> str:
    """Numbers, dates, chosen values and column alignment vary from run to run."""
    line = re.sub(r"\d+(?:[-.:]\d+)*(?:e[-+]?\d+)?", "#", line)
    for choice in choices:
        line = re.sub(rf"(?<![\w:.]){re.escape(choice)}(?![\w:.])", "@", line)
    return re.sub(r"\s+", " ", line).strip()


def _shape(value: object) -> object:
    """A JSON value's keys, recursively (not those of the values that vary)."""
    if isinstance(value, dict):
        return {k: (None if k in ("params", "user_attrs") else _shape(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(v) for v in value[:1]]
    return type(value).__name__ if value is not None else None


def _console_session(page: Path) -> Iterator[tuple[Block, list[str], list[str]]]:
    """Each ``$ command`` of the page's console blocks, with the output shown after it."""
    for block in _blocks(page):
        if block.lang != "console":
            continue
        command: list[str] = []
        output: list[str] = []
        lines = block.text.splitlines()
        i = 0
        while i < len(lines):
            line = lines[i]
            if line.startswith("$ "):
                if command:
                    yield block, command, output
                text = line[2:]
                while text.endswith("\\"):
                    i += 1
                    text = text[:-1] + " " + lines[i].strip()
                command, output = shlex.split(text), []
            else:
                output.append(line)
            i += 1
        if command:
            yield block, command, output


def test_cli_page_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from asynchyper.__main__ import main  # noqa: PLC0415

    page = ROOT / "docs" / "cli.md"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))  # the worker adds the current directory
    monkeypatch.delitem(sys.modules, "train", raising=False)
    train = next(b for b in _blocks(page) if b.lang == "python" and "async def objective" in b.text)
    (tmp_path / "train.py").write_text(train.text, encoding="utf-8")
    # the Literal choices of train.py: which one a trial took varies
    choices = tuple(
        re.findall(r"[\"']([^\"']+)[\"']", " ".join(re.findall(r"Literal\[(.*?)\]", train.text)))
    )
    ran = 0
    for block, command, shown in _console_session(page):
        where = f"{block.where}: $ {shlex.join(command)}"
        if command[0] == "export":  # export ASYNCHYPER_STORAGE=study.db
            name, _, value = command[1].partition("=")
            monkeypatch.setenv(name, value)
            continue
        assert command[0] == "asynchyper", where
        if any("[y/N]" in line for line in shown):
            continue  # needs a terminal to answer the question
        if not shown:
            continue  # shows no output: nothing to compare (it parses below)
        if command[1] == "plot" and importlib.util.find_spec("matplotlib") is None:
            continue
        argv = command[1 : command.index("<")] if "<" in command else command[1:]
        with open(os.devnull, encoding="utf-8") as devnull:  # `< /dev/null`, or no input
            monkeypatch.setattr(sys, "stdin", devnull)
            code = main(argv)
        captured = capsys.readouterr()
        actual = (captured.out + captured.err).splitlines()
        expected_code = 1 if shown[0].startswith("asynchyper: error:") else 0
        assert code == expected_code, f"{where}: exit code {code}, output {actual}"
        ran += 1
        if shown[0].lstrip().startswith(("[", "{")):
            assert _shape(json.loads("\n".join(actual))) == _shape(json.loads("\n".join(shown))), (
                where
            )
        elif "csv" in argv and "-o" not in argv:  # the header: our columns are the page's
            page_columns, our_columns = shown[0].split(","), actual[0].split(",")
            assert our_columns[:6] == page_columns[:6], where
            assert set(our_columns) <= set(page_columns), f"{where}: {our_columns}"
        else:
            shown_lines = [line for line in shown if line.strip() != "..."]
            assert len(actual) >= len(shown_lines), f"{where}: shown {shown_lines}, got {actual}"
            for line_shown, line_actual in zip(shown_lines, actual, strict=False):
                assert _mask(line_actual, choices) == _mask(line_shown, choices), (
                    f"{where}: shown {line_shown!r}, got {line_actual!r}"
                )
    assert ran >= 10, f"only {ran} commands of {page.name} ran"
    from asynchyper._cli._parser import build_parser  # noqa: PLC0415

    parser = build_parser(ah.__version__)
    for _block, command, _ in _console_session(page):  # every command parses, shown or not
        if command[0] == "asynchyper" and "--version" not in command:
            argv = command[1 : command.index("<")] if "<" in command else command[1:]
            parser.parse_args(argv)
