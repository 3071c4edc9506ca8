"""asynchyper: async-first hyperparameter optimization.

Typed search spaces (attrs classes), a constant-liar TPE, an anyio scheduler that
keeps N trials in flight, and durable SQLite studies.
"""

from ._analysis import parameter_importance as parameter_importance
from ._errors import AsynchyperError as AsynchyperError
from ._errors import EventLoopError as EventLoopError
from ._errors import ExecutorError as ExecutorError
from ._errors import InvalidSpaceError as InvalidSpaceError
from ._errors import MissingExtraError as MissingExtraError
from ._errors import NoCompletedTrialsError as NoCompletedTrialsError
from ._errors import ParameterError as ParameterError
from ._errors import SearchSpaceError as SearchSpaceError
from ._errors import SpaceDeclarationError as SpaceDeclarationError
from ._errors import SpaceMismatchError as SpaceMismatchError
from ._errors import StorageAccessError as StorageAccessError
from ._errors import StorageCorruptError as StorageCorruptError
from ._errors import StorageError as StorageError
from ._errors import StorageFullError as StorageFullError
from ._errors import StorageVersionError as StorageVersionError
from ._errors import StudyClosedError as StudyClosedError
from ._errors import SuggesterError as SuggesterError
from ._errors import TrialStateError as TrialStateError
from ._errors import UnknownStudyError as UnknownStudyError
from ._errors import UnknownTrialError as UnknownTrialError
from ._executor import AsyncExecutor as AsyncExecutor
from ._executor import Executor as Executor
from ._executor import ProcessExecutor as ProcessExecutor
from ._executor import ThreadExecutor as ThreadExecutor
from ._executor import TrialContext as TrialContext
from ._executor import WorkerDiedError as WorkerDiedError
from ._executor import current_trial as current_trial
from ._executor import use_trial_context as use_trial_context
from ._records import StudyRecord as StudyRecord
from ._records import Trial as Trial
from ._records import TrialRecord as TrialRecord
from ._records import TrialState as TrialState
from ._scheduler import Evaluation as Evaluation
from ._scheduler import Result as Result
from ._scheduler import Study as Study
from ._scheduler import TrialCallback as TrialCallback
from ._scheduler import maximize as maximize
from ._scheduler import minimize as minimize
from ._scheduler import open_study as open_study
from ._space import Categorical as Categorical
from ._space import Dimension as Dimension
from ._space import DimensionKind as DimensionKind
from ._space import Float as Float
from ._space import Int as Int
from ._space import Space as Space
from ._space import compile_space as compile_space
from ._storage import MemoryStorage as MemoryStorage
from ._storage import PostgresStorage as PostgresStorage
from ._storage import SQLiteStorage as SQLiteStorage
from ._storage import Storage as Storage
from ._storage import copy_study as copy_study
from ._suggest import TPE as TPE
from ._suggest import History as History
from ._suggest import Random as Random
from ._suggest import Suggester as Suggester
from ._types import Direction as Direction
from ._types import JSONInput as JSONInput
from ._types import JSONScalar as JSONScalar
from ._types import JSONValue as JSONValue
from ._types import Params as Params

__version__ = "0.1.0.dev0"

__all__ = [
    # spaces
    "Float",
    "Int",
    "Categorical",
    "Space",
    "Dimension",
    "DimensionKind",
    "compile_space",
    # running studies
    "minimize",
    "maximize",
    "open_study",
    "Study",
    "Result",
    "Evaluation",
    "Trial",
    "TrialState",
    "TrialCallback",
    "current_trial",
    "TrialContext",
    "use_trial_context",
    "parameter_importance",
    # types of values the API takes and gives
    "Direction",
    "Params",
    "JSONScalar",
    "JSONValue",
    "JSONInput",
    # suggesters
    "Suggester",
    "History",
    "Random",
    "TPE",
    # storage
    "Storage",
    "MemoryStorage",
    "SQLiteStorage",
    "PostgresStorage",
    "copy_study",
    "StudyRecord",
    "TrialRecord",
    # executors
    "Executor",
    "AsyncExecutor",
    "ThreadExecutor",
    "ProcessExecutor",
    "WorkerDiedError",
    # errors
    "AsynchyperError",
    "SearchSpaceError",
    "SpaceDeclarationError",
    "InvalidSpaceError",
    "ParameterError",
    "SuggesterError",
    "StorageError",
    "StorageCorruptError",
    "StorageVersionError",
    "StorageAccessError",
    "StorageFullError",
    "UnknownStudyError",
    "SpaceMismatchError",
    "StudyClosedError",
    "EventLoopError",
    "TrialStateError",
    "UnknownTrialError",
    "NoCompletedTrialsError",
    "ExecutorError",
    "MissingExtraError",
]
