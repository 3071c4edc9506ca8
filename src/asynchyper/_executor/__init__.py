"""The executor box: coroutine, thread and process executors."""

from ._base import Executor as Executor
from ._base import ReturnValueError as ReturnValueError
from ._context import TrialContext as TrialContext
from ._context import current_trial as current_trial
from ._context import use_trial_context as use_trial_context
from ._coroutine import AsyncExecutor as AsyncExecutor
from ._process import ProcessExecutor as ProcessExecutor
from ._process import WorkerDiedError as WorkerDiedError
from ._resolve import resolve_executor as resolve_executor
from ._thread import ThreadExecutor as ThreadExecutor
