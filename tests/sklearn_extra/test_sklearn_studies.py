"""AutoClassifier and AutoRegressor with a storage: resuming, other data, pickling."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("sklearn")

import anyio
import numpy as np
from ahs_helpers import KnnOnly
from sklearn.base import clone
from sklearn.datasets import load_iris
from sklearn.model_selection import StratifiedKFold, cross_val_score

import asynchyper as ah
import asynchyper.sklearn as ahs


def _model(storage: Any, **options: Any) -> ahs.AutoClassifier[KnnOnly]:
    kw: dict[str, Any] = {"trials": 2, "concurrency": 1, "executor": "thread", "seed": 0}
    return ahs.AutoClassifier(space=KnnOnly, portfolio=False, storage=storage, **(kw | options))


async def _study_names(path: Path) -> list[str]:
    async with ah.SQLiteStorage(path) as storage:
        return [record.name for record in await storage.list_studies()]


def test_a_named_study_resumes_on_the_same_data_only(tmp_path: Path) -> None:
    X, y = load_iris(return_X_y=True)
    path = str(tmp_path / "s.db")
    first = _model(path, study="iris").fit(X, y)
    again = _model(path, study="iris", trials=3).fit(X, y)
    assert [t.params for t in again.trials_][:2] == [t.params for t in first.trials_]
    assert again.n_completed_ == 3
    noise = np.random.default_rng(0).permutation(y)
    with pytest.raises(ahs.DataMismatchError, match=r"study 'iris' .*other data") as info:
        _model(path, study="iris").fit(X, noise)
    message = str(info.value)
    assert "new study name" in message
    assert "delete" in message
    assert "cross_val_score" in message
    assert isinstance(info.value, ah.SpaceMismatchError)
    with pytest.raises(ahs.DataMismatchError, match="scoring"):
        _model(path, study="iris", scoring="balanced_accuracy").fit(X, y)
    with pytest.raises(ahs.DataMismatchError, match="cv"):
        _model(path, study="iris", cv=4).fit(X, y)


def test_without_a_study_name_each_data_set_gets_its_own_study(tmp_path: Path) -> None:
    X, y = load_iris(return_X_y=True)
    path = tmp_path / "s.db"
    scores = cross_val_score(_model(str(path)), X, y, cv=2)
    assert len(scores) == 2
    names = anyio.run(_study_names, path)
    assert len(names) == 2
    assert all(name.startswith("KnnOnly-") for name in names)
    model = _model(str(path)).fit(X, y)
    resumed = _model(str(path), trials=3).fit(X, y)
    assert resumed.study_ == model.study_
    assert resumed.n_completed_ == 3


def test_a_storage_object_is_left_closed_so_the_model_pickles_and_clones(
    tmp_path: Path,
) -> None:
    X, y = load_iris(return_X_y=True)
    storage = ah.SQLiteStorage(tmp_path / "s.db")
    model = _model(storage, study="s").fit(X, y)
    copy = pickle.loads(pickle.dumps(model))
    assert (copy.predict(X) == model.predict(X)).all()
    assert clone(model).storage.path == storage.path
    assert _model(storage, study="s", trials=3).fit(X, y).n_completed_ == 3
    assert anyio.run(_study_names, tmp_path / "s.db") == ["s"]


@pytest.mark.anyio
async def test_an_open_storage_object_cannot_be_pickled_and_says_why(tmp_path: Path) -> None:
    X, y = load_iris(return_X_y=True)
    async with ah.SQLiteStorage(tmp_path / "s.db") as storage:
        model = await _model(storage).afit(X, y)
        with pytest.raises(ah.StorageError, match=r"pass the path .*s\.db.* as storage="):
            pickle.dumps(model)
        with pytest.raises(ah.StorageError, match="close it first"):
            clone(model)


def test_an_in_memory_storage_object_cannot_be_copied_and_says_what_to_pass() -> None:
    with pytest.raises(ah.StorageError, match="storage=None"):
        clone(_model(ah.MemoryStorage()))


def test_without_a_seed_a_stored_study_is_never_resumed_on_other_folds(tmp_path: Path) -> None:
    # seed=None draws new folds per fit: the old trials were scored on other splits.
    X, y = load_iris(return_X_y=True)
    path = str(tmp_path / "s.db")
    first = _model(path, seed=None).fit(X, y)
    second = _model(path, seed=None).fit(X, y)
    assert second.study_ != first.study_
    assert second.n_completed_ == 2
    _model(path, study="named", seed=None).fit(X, y)
    with pytest.raises(ahs.DataMismatchError, match="cv"):
        _model(path, study="named", seed=None).fit(X, y)


def test_with_its_own_splitter_another_seed_is_another_study(tmp_path: Path) -> None:
    # The seed also sets the models' random_state, which changes their scores; with a
    # splitter of the user's, whose repr does not hold the seed, it was not in the
    # fingerprint and seed=1 resumed the trials scored with random_state=0.
    X, y = load_iris(return_X_y=True)
    path = str(tmp_path / "s.db")
    folds = StratifiedKFold(n_splits=3)
    first = _model(path, cv=folds, seed=0).fit(X, y)
    same = _model(path, cv=folds, seed=0, trials=3).fit(X, y)
    assert same.study_ == first.study_
    assert same.n_completed_ == 3
    other = _model(path, cv=folds, seed=1).fit(X, y)
    assert other.study_ != first.study_
    assert other.n_completed_ == 2
    _model(path, study="named", cv=folds, seed=0).fit(X, y)
    with pytest.raises(ahs.DataMismatchError, match="random_state"):
        _model(path, study="named", cv=folds, seed=1).fit(X, y)


def test_a_refused_second_fit_keeps_the_fitted_model(tmp_path: Path) -> None:
    X, y = load_iris(return_X_y=True)
    model = _model(str(tmp_path / "s.db"), study="iris").fit(X, y)
    fitted = {k: v for k, v in vars(model).items() if k.endswith("_")}
    wider = np.column_stack([X, X[:, 0]])
    with pytest.raises(ahs.DataMismatchError):
        model.fit(wider, y)
    assert {k: v for k, v in vars(model).items() if k.endswith("_")} == fitted
    assert model.n_features_in_ == 4
    assert (model.predict(X) == fitted["best_estimator_"].predict(X)).all()


def test_a_failed_first_fit_leaves_the_estimator_unfitted(tmp_path: Path) -> None:
    X, y = load_iris(return_X_y=True)
    path = str(tmp_path / "s.db")
    _model(path, study="iris").fit(X, y)
    model = _model(path, study="iris")
    with pytest.raises(ahs.DataMismatchError):
        model.fit(np.column_stack([X, X[:, 0]]), y)
    assert [k for k in vars(model) if k.endswith("_") and not k.startswith("_")] == []
