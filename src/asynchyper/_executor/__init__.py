"""The executor box: coroutine, thread and process executors."""

from ._base import Executor as Executor
