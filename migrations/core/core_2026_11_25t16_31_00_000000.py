from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import BigInt
from piccolo.columns.column_types import BigSerial
from piccolo.columns.column_types import Timestamptz
from piccolo.columns.column_types import Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-25T16:31:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "feed read markers: feed_read"

TABLE = {"table_class_name": "FeedRead", "tablename": "feed_read", "schema": None}


def _params(**params):
    base = {
        "null": False,
        "primary_key": False,
        "unique": False,
        "index": False,
        "index_method": IndexMethod.btree,
        "choices": None,
        "db_column_name": None,
        "secret": False,
    }
    base.update(params)
    return base


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)

    manager.add_table(class_name="FeedRead", tablename="feed_read", schema=None, columns=None)

    columns = [
        ("id", "BigSerial", BigSerial, _params(primary_key=True)),
        ("user_id", "BigInt", BigInt, _params(default=0)),
        ("rt_code", "Varchar", Varchar, _params(length=21, default="")),
        ("last_seq", "BigInt", BigInt, _params(default=0)),
        ("updated_at", "Timestamptz", Timestamptz, _params(default=TimestamptzNow())),
    ]
    for name, class_name, column_class, params in columns:
        manager.add_column(
            **TABLE,
            column_name=name,
            db_column_name=name,
            column_class_name=class_name,
            column_class=column_class,
            params=params,
        )

    return manager
