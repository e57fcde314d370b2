"""Handler parameters filled by dependency injection (named, as Litestar 3 requires).

async def handler(db: DB, principal: Caller) -> ...
"""

from __future__ import annotations

from typing import TypeAlias

from litestar.datastructures import State
from litestar.di import NamedDependency

from rtbook.core.auth import Principal
from rtbook.core.db import Database

DB: TypeAlias = NamedDependency[Database]  # app-wide: the open Database
Caller: TypeAlias = NamedDependency[Principal]  # /api/v1 only: who is calling


def provide_db(state: State) -> Database:
    return state.db
