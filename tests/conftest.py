"""Shared fixtures: every async test runs on both anyio backends."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(
    params=[
        pytest.param("asyncio", id="asyncio"),
        pytest.param("trio", id="trio"),
    ]
)
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Run each ``@pytest.mark.anyio`` test once on asyncio and once on trio."""
    return str(request.param)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Give the trio runs of async tests pytest-timeout's ``thread`` method.

    The default ``signal`` method fails a hung test and goes on, but on trio (run by
    anyio as a guest of the test's thread) the failure raised by the alarm leaves the
    runner waiting for ever: there, a timeout dumps every thread's stack and ends the
    whole run instead.
    """
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("anyio_backend") == "trio":
            item.add_marker(pytest.mark.timeout(method="thread"))


# -- command-line tests (tests/cli) --------------------------------------------------
# Here rather than in tests/cli/conftest.py: two modules named ``conftest`` would
# collide in mypy. ``cli_helpers`` is importable once pytest collected tests/cli.


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file with the CLI tests' ``demo`` study; read-only tests share it."""
    from cli_helpers import make_study  # noqa: PLC0415 - importable only once tests/cli is collected

    path = tmp_path_factory.mktemp("cli") / "demo.db"
    make_study(path)
    return path


@pytest.fixture
def fresh_db(tmp_path: Path) -> Path:
    """A SQLite file with the CLI tests' ``demo`` study that a test may change."""
    from cli_helpers import make_study  # noqa: PLC0415 - importable only once tests/cli is collected

    path = tmp_path / "demo.db"
    make_study(path)
    return path


@pytest.fixture(autouse=True)
def _no_storage_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """A storage named in the environment of the test run must not leak into a test."""
    monkeypatch.delenv("ASYNCHYPER_STORAGE", raising=False)
