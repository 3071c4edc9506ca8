"""The storage box: the async interface, in-memory, SQLite and PostgreSQL implementations."""

from ._base import Storage as Storage
from ._common import new_owner_id as new_owner_id
from ._common import release_owner_id as release_owner_id
from ._copy import copy_study as copy_study
from ._memory import MemoryStorage as MemoryStorage
from ._postgres import PostgresStorage as PostgresStorage
from ._sqlite import SQLiteStorage as SQLiteStorage
from ._url import open_storage as open_storage
