"""The lansia plugin's own table (its Piccolo app: rtbook_lansia.piccolo_app).

One row per vaccine dose given to a resident. (nik, vaccine, dose_number) is unique
(see the raw-SQL migration): a dose number is recorded once per vaccine.
"""

from __future__ import annotations

from piccolo.columns import BigInt, BigSerial, Date, Integer, Timestamptz, Varchar
from piccolo.table import Table


class LansiaDose(Table, tablename="lansia_dose"):
    id = BigSerial(primary_key=True)
    nik = Varchar(length=16, index=True)
    city_code = Varchar(length=5, index=True)
    vaccine = Varchar(length=60)  # as written by the health worker, trimmed
    dose_number = Integer()
    given_on = Date()
    place = Varchar(length=120)
    recorded_by = BigInt(null=True, default=None)  # rtbook_user.id
    recorded_at = Timestamptz()


LANSIA_TABLES: list[type[Table]] = [LansiaDose]
