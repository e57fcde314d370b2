"""``rtbook demo``: a demo city to click through, on its own SQLite file by default.

:func:`prepare_demo` sets up Balikpapan (64.71) with its real kecamatan and kelurahan,
six RTs in three kelurahan, a few hundred generated residents, one user per role and
about ten completed registry services, so the RT head's feed has events. Given the
channel configs of the demo's outbox (rtbook.demo_outbox), it enables the built-in
``email`` and ``whatsapp`` plugins in the city before posting the services, so the
worker tells the RT head about them. It can run
again on the same database: what exists is kept, passwords and API tokens are issued
fresh (they are printed, and a stored password cannot be shown again). Everything
generated is a function of the city's creation time, so a second run sends the very
same services and the ledger answers ``duplicate``.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import rtbook
from rtbook.core.auth import create_token, load_principal
from rtbook.core.db import Connection, Database
from rtbook.core.errors import RtbookError
from rtbook.core.importer import import_residents
from rtbook.core.ledger.ingest import ingest_services
from rtbook.core.passwords import hash_password
from rtbook.core.plugins.registry import PluginRegistry
from rtbook.core.plugins.settings import set_plugin
from rtbook.core.regions import (
    add_city,
    city_exists,
    default_timezone,
    get_city,
    read_city_regions,
)
from rtbook.core.rts import add_rts
from rtbook.core.settings import DatabaseURL
from rtbook.core.users import insert_user, new_user, set_password_hash, user_id_by_name
from rtbook.synthetic import generate_residents

if TYPE_CHECKING:  # aiosmtpd is imported only when the demo runs
    from rtbook.demo_outbox import DemoOutbox

CITY = "64.71"
RT_KETUA = "64.71.06.1005-003-005"  # Damai, RW 003, RT 005: the demo RT head's RT
RT_NEIGHBOUR = "64.71.06.1005-003-006"
DEMO_RTS = (
    RT_KETUA,
    RT_NEIGHBOUR,
    "64.71.06.1004-001-001",  # Klandasan Ilir
    "64.71.06.1004-001-002",
    "64.71.05.1011-002-003",  # Damai Baru
    "64.71.05.1011-002-004",
)
HOUSEHOLDS_PER_RT = 16
SEED = 6471
SERVICE_SOURCE = "siak-6471-demo"
DEMO_DATABASE = "sqlite:///rtbook-demo.db"
CHANNEL_PLUGINS = ("email", "whatsapp")  # built-in plugins pointed at the demo outbox
LANSIA = "lansia"  # the built-in elderly-list plugin, enabled for the demo's health worker
REPORTS = "reports"  # the built-in population books, for the RT head and the city admin
KELURAHAN_DAMAI = RT_KETUA.split("-")[0]  # the health worker's area
REGIONS_ENV = "RTBOOK_REGIONS_FILE"
REGIONS_RELATIVE = Path("shared") / "data" / "wilayah" / "wilayah.csv"


@dataclass(frozen=True, slots=True)
class DemoUser:
    username: str
    role: str
    description: str
    city: str | None = None
    rts: tuple[str, ...] = ()
    areas: tuple[str, ...] = ()
    whatsapp: str | None = None
    email: str | None = None


DEMO_USERS = (
    DemoUser("admin", "admin", "admin sistem (system admin)"),
    DemoUser("admin-balikpapan", "city_admin", "admin Disdukcapil Balikpapan", city=CITY),
    DemoUser(
        "ketua-rt-005",
        "rt_head",
        f"ketua RT {RT_KETUA} (RT head)",
        rts=(RT_KETUA,),
        whatsapp="081234560005",
        email="ketua-rt-005@example.org",
    ),
    DemoUser("siak-balikpapan", "integrator", "integrasi SIAK (registry integrator)", city=CITY),
    DemoUser(
        "kader-damai",
        "health_worker",
        "kader kesehatan kelurahan Damai (health worker)",
        areas=(KELURAHAN_DAMAI,),
    ),
)


@dataclass(frozen=True, slots=True)
class DemoLogin:
    username: str
    role: str
    description: str
    password: str
    token: str


@dataclass(slots=True)
class DemoInfo:
    city_code: str
    city_name: str
    rt_codes: tuple[str, ...]
    residents: int  # residents of the demo RTs, any status
    imported: int  # residents imported by this run (0 when they were there)
    services: dict[str, int]  # answers of this run's services by status
    service_errors: list[str] = field(default_factory=list)  # of rejected services
    logins: list[DemoLogin] = field(default_factory=list)
    example_nik: str | None = None  # an active resident of the RT head's RT
    channels: list[str] = field(default_factory=list)  # channel plugins enabled in the city
    outbox: Path | None = None  # where the enabled channels' messages land (run_demo)
    lansia: bool = False  # the lansia plugin is enabled in the city
    reports: bool = False  # the reports plugin is enabled in the city

    def login(self, username: str) -> DemoLogin:
        return next(item for item in self.logins if item.username == username)


# -- the region file ---------------------------------------------------------------------


def find_regions_file(given: str | Path | None = None) -> Path | None:
    """--regions, else $RTBOOK_REGIONS_FILE, else shared/data/wilayah/wilayah.csv beside
    the repository or the working directory."""
    if given:
        return Path(given)
    if os.environ.get(REGIONS_ENV):
        return Path(os.environ[REGIONS_ENV])
    candidates = [
        Path(rtbook.__file__).resolve().parents[2] / REGIONS_RELATIVE,
        Path.cwd().parent / REGIONS_RELATIVE,
        Path.cwd() / REGIONS_RELATIVE,
    ]
    return next((path for path in candidates if path.is_file()), None)


# -- setting up ----------------------------------------------------------------------------


async def _ensure_city(db: Database, regions_file: Path | None, now: datetime) -> None:
    if await db.read(lambda conn: city_exists(conn, CITY)):
        return
    if regions_file is None:
        raise RtbookError(
            "berkas wilayah tidak ditemukan, berikan --regions FILE (the Kemendagri "
            f"kode,nama CSV) atau {REGIONS_ENV} (region file not found: pass --regions)"
        )
    regions = read_city_regions(regions_file, CITY)
    zone = default_timezone(CITY[:2])
    await db.write(lambda conn: add_city(conn, regions, zone, now=now))


async def _missing_rts(conn: Connection) -> list[str]:
    present = {row[0] for row in await conn.fetch("SELECT code FROM rt WHERE city_code = $1", CITY)}
    return [code for code in DEMO_RTS if code not in present]


async def _demo_residents(conn: Connection) -> int:
    marks = ", ".join(f"${i}" for i in range(1, len(DEMO_RTS) + 1))
    return int(
        await conn.fetchval(f"SELECT count(*) FROM resident WHERE rt_code IN ({marks})", *DEMO_RTS)
    )


def generated_residents(anchor_day: date) -> list[dict[str, str]]:
    return list(
        generate_residents(
            list(DEMO_RTS), households_per_rt=HOUSEHOLDS_PER_RT, seed=SEED, today=anchor_day
        )
    )


async def _ensure_user(db: Database, spec: DemoUser) -> int:
    user_id = await db.read(lambda conn: user_id_by_name(conn, spec.username))
    if user_id is not None:
        return user_id
    user = new_user(
        spec.username,
        spec.role,
        city=spec.city,
        rts=spec.rts,
        areas=spec.areas,
        whatsapp=spec.whatsapp,
        email=spec.email,
    )
    return await db.write(lambda conn: insert_user(conn, user))


async def _fresh_login(db: Database, spec: DemoUser, user_id: int) -> DemoLogin:
    password = secrets.token_urlsafe(9)
    password_hash = await asyncio.to_thread(hash_password, password)

    async def unit(conn: Connection) -> str:
        await set_password_hash(conn, user_id, password_hash)
        return await create_token(conn, user_id)

    token = await db.write(unit)
    return DemoLogin(spec.username, spec.role, spec.description, password, token)


async def _enable_plugins(
    db: Database,
    registry: PluginRegistry,
    plugins: Mapping[str, Mapping[str, Any]],
    now: datetime,
) -> list[str]:
    """Enable each installed plugin of ``plugins`` in the city with its config (the
    config replaces the stored one: the outbox's ports change from run to run); the
    names enabled. A first enable starts at the feed's end, hence before the services."""
    enabled = []
    for name, config in plugins.items():
        if name not in registry:
            continue
        await db.write(
            lambda conn, name=name, config=config: set_plugin(
                conn, registry, CITY, name, enabled=True, config=dict(config), user_id=None, now=now
            )
        )
        enabled.append(name)
    return enabled


async def prepare_demo(
    db: Database,
    *,
    regions_file: Path | None = None,
    now: datetime | None = None,
    channels: Mapping[str, Mapping[str, Any]] | None = None,
    registry: PluginRegistry | None = None,
) -> DemoInfo:
    """Set up (or reuse) the demo city on an open, migrated database; see the module
    docstring. ``regions_file`` is needed only when the city is not there yet.
    ``channels``: plugin -> city config (DemoOutbox.configs()), enabled when the
    plugin is installed (``registry``, loaded from the environment when not given)."""
    now = now or datetime.now(UTC)
    await _ensure_city(db, regions_file, now)
    registry = registry if registry is not None else PluginRegistry.load()
    enabled_channels: list[str] = []
    if channels:
        enabled_channels = await _enable_plugins(db, registry, channels, now)
    # the health worker's elderly list (plugin lansia), with the contract's default age
    lansia = bool(await _enable_plugins(db, registry, {LANSIA: {"min_age": 60}}, now))
    reports = bool(await _enable_plugins(db, registry, {REPORTS: {}}, now))
    city = await db.read(lambda conn: get_city(conn, CITY))
    zone = ZoneInfo(city.timezone)
    anchor = city.created_at
    anchor_day = anchor.astimezone(zone).date()

    missing = await db.read(_missing_rts)
    if missing:
        await db.write(lambda conn: add_rts(conn, missing))

    people = generated_residents(anchor_day)
    imported = 0
    if await db.read(_demo_residents) == 0:
        report = await import_residents(
            db, ((line, row) for line, row in enumerate(people, start=2)), CITY, now=anchor
        )
        imported = report.imported

    logins = []
    for spec in DEMO_USERS:
        user_id = await _ensure_user(db, spec)
        logins.append(await _fresh_login(db, spec, user_id))

    integrator_id = await db.read(lambda conn: user_id_by_name(conn, "siak-balikpapan"))
    assert integrator_id is not None
    principal = await db.read(lambda conn: load_principal(conn, integrator_id))
    if principal is None:
        raise RtbookError("pengguna siak-balikpapan tidak aktif (the demo integrator is disabled)")
    items = demo_services(people, anchor, zone)
    results = await ingest_services(db, principal, items, now=now)
    services: dict[str, int] = {}
    errors: list[str] = []
    for result in results:
        services[result["status"]] = services.get(result["status"], 0) + 1
        errors.extend(
            f"{result['id']}: {issue['field']}: {issue['message']}" for issue in result["errors"]
        )

    residents = await db.read(
        lambda conn: conn.fetch(
            "SELECT nik FROM resident WHERE rt_code = $1 AND status = $2 ORDER BY name, nik",
            RT_KETUA,
            "active",
        )
    )
    total = await db.read(_demo_residents)
    return DemoInfo(
        city_code=CITY,
        city_name=city.name,
        rt_codes=DEMO_RTS,
        residents=total,
        imported=imported,
        services=services,
        service_errors=errors,
        logins=logins,
        example_nik=residents[0][0] if residents else None,
        channels=enabled_channels,
        lansia=lansia,
        reports=reports,
    )


# -- the demo's completed services ------------------------------------------------------


def _age(row: dict[str, str], day: date) -> int:
    born = date.fromisoformat(row["birth_date"])
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def _pick(
    rows: Sequence[dict[str, str]], taken: set[str], *tests: Any, required: int = 0
) -> dict[str, str] | None:
    """The first row not yet used that passes the tests, trying them in order of
    preference (all, then all but the last, ... down to the first ``required``)."""
    for keep in range(len(tests), required - 1, -1):
        for row in rows:
            if row["nik"] not in taken and all(test(row) for test in tests[:keep]):
                taken.add(row["nik"])
                return row
    return None


def _new_nik(region: str, born: date, sex: str, serial: int) -> str:
    day = born.day + 40 if sex == "P" else born.day
    return f"{region}{day:02d}{born.month:02d}{born.year % 100:02d}{serial:04d}"


def demo_services(
    people: Sequence[dict[str, str]], anchor: datetime, zone: ZoneInfo
) -> list[dict[str, Any]]:
    """About ten completed services about the generated residents, dated in the days
    before ``anchor``: a birth and the new KK, a death, moves (within the city, out,
    in), documents and a marriage."""
    day = anchor.astimezone(zone).date()
    in_a = [r for r in people if r["rt"] == RT_KETUA]
    in_b = [r for r in people if r["rt"] == RT_NEIGHBOUR]
    taken: set[str] = set()
    items: list[dict[str, Any]] = []
    counter = iter(range(1, 100))

    def at(days_before: float) -> str:
        moment = (anchor - timedelta(days=days_before)).astimezone(zone)
        return moment.replace(microsecond=0).isoformat()

    def add(kind: str, nik: str, days_before: float, rt: str | None = None, **extra: Any):
        item: dict[str, Any] = {
            "source": SERVICE_SOURCE,
            "id": f"demo-{next(counter):03d}-{kind}",
            "type": kind,
            "completed_at": at(days_before),
            "nik": nik,
            "data": extra.pop("data", {}),
        }
        if rt:
            item["rt"] = rt
        item.update(extra)
        items.append(item)

    # A birth into a family of the RT head's RT, then the family's new KK.
    households: dict[str, list[dict[str, str]]] = {}
    for row in in_a:
        households.setdefault(row["no_kk"], []).append(row)
    family = next(
        (
            members
            for members in households.values()
            if any(m["shdk"] == "istri" for m in members)
            and any(m["shdk"] == "kepala_keluarga" for m in members)
        ),
        None,
    )
    if family is not None:
        head = next(m for m in family if m["shdk"] == "kepala_keluarga")
        wife = next(m for m in family if m["shdk"] == "istri")
        taken.update(m["nik"] for m in family)
        born = day - timedelta(days=12)
        child_nik = _new_nik(head["nik"][:6], born, "P", 9001)
        child = {
            "name": f"AISYAH {head['name'].split()[-1]}",
            "sex": "P",
            "birth_place": "BALIKPAPAN",
            "birth_date": born.isoformat(),
            "religion": head["religion"],
            "marital_status": "belum_kawin",
            "shdk": "anak",
            "citizenship": "WNI",
            "no_kk": head["no_kk"],
            "address": head["address"],
            "father_name": head["name"],
            "mother_name": wife["name"],
        }
        add(
            "akta_kelahiran",
            child_nik,
            6,
            RT_KETUA,
            document_number="6471-LT-DEMO-0001",
            data={"child": child},
        )
        members = [{"nik": m["nik"], "shdk": m["shdk"]} for m in family]
        members.append({"nik": child_nik, "shdk": "anak"})
        add("kk", head["nik"], 5.5, RT_KETUA, data={"no_kk": head["no_kk"], "members": members})

    elder = _pick(
        sorted(in_a, key=lambda r: r["birth_date"]), taken, lambda r: r["shdk"] != "kepala_keluarga"
    )
    if elder is not None:
        died = day - timedelta(days=8)
        add("akta_kematian", elder["nik"], 5, RT_KETUA, data={"date_of_death": died.isoformat()})

    mover = _pick(in_b, taken, lambda r: _age(r, day) >= 18, lambda r: r["shdk"] == "anak")
    if mover is not None:
        add("pindah_dalam", mover["nik"], 4, RT_KETUA, data={"from_rt": RT_NEIGHBOUR})

    leaver = _pick(in_a, taken, lambda r: _age(r, day) >= 20, lambda r: r["shdk"] == "anak")
    if leaver is not None:
        add("pindah_keluar", leaver["nik"], 3.5, RT_KETUA, data={"destination": "KOTA SAMARINDA"})

    arrival_born = date(day.year - 29, 3, 14)
    arrival = {
        "name": "ANDI BATARA",
        "sex": "L",
        "birth_place": "MAKASSAR",
        "birth_date": arrival_born.isoformat(),
        "religion": "islam",
        "education": "DIPLOMA IV/STRATA I",
        "occupation": "KARYAWAN SWASTA",
        "marital_status": "belum_kawin",
        "shdk": "kepala_keluarga",
        "citizenship": "WNI",
        "no_kk": f"647106{(day - timedelta(days=3)).strftime('%d%m%y')}9001",
        "address": "JL. DAMAI NO. 9",
        "father_name": "BATARA",
        "mother_name": "HASNAH",
    }
    arrival_nik = _new_nik("737101", arrival_born, "L", 9001)
    add(
        "pindah_datang",
        arrival_nik,
        3,
        RT_KETUA,
        data={"resident": arrival, "origin": "KOTA MAKASSAR"},
    )
    members = [{"nik": arrival_nik, "shdk": "kepala_keluarga"}]
    add("kk", arrival_nik, 2.5, RT_KETUA, data={"no_kk": arrival["no_kk"], "members": members})

    single = _pick(
        [*in_a, *in_b],
        taken,
        lambda r: r["marital_status"] == "belum_kawin",
        lambda r: _age(r, day) >= 21,
        required=2,
    )
    if single is not None:
        add("akta_perkawinan", single["nik"], 2, single["rt"])

    teen = _pick(in_a, taken, lambda r: 17 <= _age(r, day) <= 20, lambda r: _age(r, day) >= 17)
    if teen is not None:
        add("ktp_el", teen["nik"], 1.5, RT_KETUA, document_number=teen["nik"])

    child_kia = _pick(in_a, taken, lambda r: _age(r, day) < 17)
    if child_kia is not None:
        add("kia", child_kia["nik"], 1, RT_KETUA, document_number=f"KIA-{child_kia['nik'][-4:]}")

    neighbour = _pick(in_b, taken, lambda r: _age(r, day) >= 17)
    if neighbour is not None:
        add("ktp_el", neighbour["nik"], 0.5, RT_NEIGHBOUR, document_number=neighbour["nik"])
    return items


# -- the command -------------------------------------------------------------------------


def demo_database_url() -> DatabaseURL:
    return DatabaseURL.parse(os.environ.get("RTBOOK_DATABASE_URL") or DEMO_DATABASE)


def _lines(info: DemoInfo, host: str, port: int) -> Iterator[str]:
    base = f"http://{host}:{port}"
    ketua = info.login("ketua-rt-005")
    siak = info.login("siak-balikpapan")
    yield ""
    yield (
        f"rtbook demo: {info.city_name} ({info.city_code}), {len(info.rt_codes)} RT, "
        f"{info.residents} penduduk (residents)"
    )
    if info.imported:
        yield f"  {info.imported} penduduk contoh diimpor (sample residents imported)"
    answers = ", ".join(f"{n} {status}" for status, n in sorted(info.services.items()))
    yield f"  layanan contoh (sample services): {answers}"
    for note in info.service_errors:
        yield f"    {note}"
    yield ""
    yield f"Aplikasi (the app): {base}/   <- buka di peramban ponsel (open in a phone browser)"
    yield f"API (OpenAPI):      {base}/schema/openapi.json"
    yield ""
    yield (
        "Pengguna (users) - masuk di aplikasi dengan nama dan kata sandi ini; kata sandi dan "
        "token baru tiap kali demo dijalankan (log in to the app with these; fresh passwords "
        "and tokens on every run):"
    )
    for login in info.logins:
        yield f"  {login.username:<18} {login.role:<14} kata sandi (password): {login.password}"
        yield f"  {'':<18} {login.description}"
        yield f"  {'':<18} token: {login.token}"
    yield ""
    yield "Contoh (examples):"
    yield f"  curl {base}/health"
    yield f"  curl -H 'Authorization: Bearer {ketua.token}' \\"
    yield f"       {base}/api/v1/rts/{RT_KETUA}/events"
    yield f"  curl -H 'Authorization: Bearer {ketua.token}' \\"
    yield f"       '{base}/api/v1/rts/{RT_KETUA}/residents?status=active&limit=20'"
    yield f"  curl -H 'Authorization: Bearer {ketua.token}' \\"
    yield f"       {base}/api/v1/rts/{RT_KETUA}/households"
    if info.example_nik:
        completed = datetime.now(ZoneInfo("Asia/Makassar")).replace(microsecond=0).isoformat()
        body = (
            '{"services": [{"source": "siak-6471", "id": "contoh-'
            f'{secrets.token_hex(3)}", "type": "ktp_el", "completed_at": "{completed}", '
            f'"nik": "{info.example_nik}", "data": {{}}}}]}}'
        )
        yield f"  curl -X POST -H 'Authorization: Bearer {siak.token}' \\"
        yield "       -H 'Content-Type: application/json' \\"
        yield f"       -d '{body}' \\"
        yield f"       {base}/api/v1/services"
    if info.lansia:
        kader = info.login("kader-damai")
        yield f"  curl -H 'Authorization: Bearer {kader.token}' \\"
        yield f"       '{base}/api/v1/lansia?area={KELURAHAN_DAMAI}'"
        yield f"  curl -H 'Authorization: Bearer {kader.token}' -H 'Accept: text/csv' \\"
        yield f"       '{base}/api/v1/lansia?area={KELURAHAN_DAMAI}'"
    if info.reports:
        month = (datetime.now(UTC).replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
        yield f"  curl -H 'Authorization: Bearer {ketua.token}' \\"
        yield f"       '{base}/api/v1/reports/rekapitulasi?area={RT_KETUA}&month={month}'"
    yield ""
    yield from _notice_lines(info)
    yield ""
    yield "Hentikan dengan Ctrl-C (stop with Ctrl-C)."
    yield ""


def _notice_lines(info: DemoInfo) -> Iterator[str]:
    if not info.channels or info.outbox is None:
        yield (
            f"Pemberitahuan (notices): plugin {' dan '.join(CHANNEL_PLUGINS)} tidak terpasang, "
            "tidak ada pemberitahuan (channel plugins not installed: no notices)"
        )
        return
    names = " dan ".join(info.channels)
    yield (
        f"Pemberitahuan (notices): plugin {names} aktif di {info.city_code}; pesan untuk ketua RT "
        "dikirim worker"
    )
    yield "  ke server SMTP dan gateway WhatsApp tiruan di 127.0.0.1, dan ditulis ke"
    yield "  (the worker's messages to the RT heads go to local stand-in servers and land in):"
    yield f"  {info.outbox}    (tail -f)"


def run_demo(
    *, port: int = 8000, regions: str | Path | None = None, host: str = "127.0.0.1"
) -> int:
    """Prepare the demo, print the address, logins and examples, serve until Ctrl-C."""
    from rtbook.cli import check_port_free

    url = demo_database_url()
    check_port_free(host, port)
    regions_file = find_regions_file(regions)
    registry = PluginRegistry.load()
    outbox = None
    if any(name in registry for name in CHANNEL_PLUGINS):
        from rtbook.demo_outbox import DemoOutbox, outbox_path

        outbox = DemoOutbox(outbox_path(url.sqlite_path), default_timezone(CITY[:2]))
        outbox.start()
    try:
        return _prepare_and_serve(url, host, port, regions_file, registry, outbox)
    finally:
        if outbox is not None:
            outbox.stop()


def _prepare_and_serve(
    url: DatabaseURL,
    host: str,
    port: int,
    regions_file: Path | None,
    registry: PluginRegistry,
    outbox: DemoOutbox | None,
) -> int:
    from rtbook.cli import serve_app, with_database
    from rtbook.core.dispatch.background import BackgroundWorker

    channels = outbox.configs() if outbox is not None else None

    async def work(db: Database) -> DemoInfo:
        return await prepare_demo(
            db, regions_file=regions_file, channels=channels, registry=registry
        )

    info = asyncio.run(with_database(work, url))
    info.outbox = outbox.path.resolve() if outbox is not None else None
    for line in _lines(info, host, port):
        print(line)
    sys.stdout.flush()  # before the server takes over (stdout may be a pipe)
    worker = BackgroundWorker(url)  # plugins get the feed's events beside the server
    worker.start()
    if worker.running:
        print("Worker berjalan di samping server (worker running beside the server)", flush=True)
    try:
        serve_app(url, host, port)
    finally:
        worker.stop()
    return 0
