"""Piccolo tables: the single definition of rtbook's core schema.

Composite indexes and unique constraints Piccolo cannot declare on a column live in
the raw-SQL migration beside the generated one (migrations/core/). Codes are kept as
the strings the registry uses: NIK and No. KK are 16-digit strings, never numbers.
Timestamps are UTC; event dates (``event_date``) are calendar dates in city time.
"""

from __future__ import annotations

from piccolo.columns import (
    BigInt,
    BigSerial,
    Boolean,
    Bytea,
    Date,
    DoublePrecision,
    Integer,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

CODE = 13  # longest Kemendagri code: 64.71.06.1005
RT_CODE = 21  # 64.71.06.1005-003-005
NIK = 16


class Region(Table, tablename="region"):
    """A Kemendagri region: province, city (kabupaten/kota), kecamatan or kelurahan/desa."""

    code = Varchar(length=CODE, primary_key=True)
    name = Varchar(length=200)
    level = Varchar(length=10)  # province | city | kecamatan | kelurahan
    parent_code = Varchar(length=CODE, null=True, default=None, index=True)
    city_code = Varchar(length=5, null=True, default=None, index=True)


class City(Table, tablename="city"):
    """The tenant: plugins, settings, timezone and tokens belong to a city."""

    code = Varchar(length=5, primary_key=True)
    name = Varchar(length=200)
    province_code = Varchar(length=2)
    timezone = Varchar(length=40)  # IANA name: Asia/Jakarta, Asia/Makassar, Asia/Jayapura
    # Last sequence number handed to a feed event of this city. Taken with a row lock
    # at the end of each write, so sequence order is commit order.
    event_seq = BigInt(default=0)
    created_at = Timestamptz()


class RT(Table, tablename="rt"):
    code = Varchar(length=RT_CODE, primary_key=True)
    city_code = Varchar(length=5, index=True)
    kecamatan_code = Varchar(length=CODE)
    kelurahan_code = Varchar(length=CODE, index=True)
    rw = Varchar(length=3)
    rt = Varchar(length=3)
    created_at = Timestamptz()


class Resident(Table, tablename="resident"):
    """Current state of one person in the ledger (the history is ResidentChange)."""

    nik = Varchar(length=NIK, primary_key=True)
    name = Varchar(length=150)
    sex = Varchar(length=1)
    birth_place = Varchar(length=100, null=True, default=None)
    birth_date = Date()
    religion = Varchar(length=12, null=True, default=None)
    education = Varchar(length=100, null=True, default=None)
    occupation = Varchar(length=100, null=True, default=None)
    marital_status = Varchar(length=12, null=True, default=None)
    shdk = Varchar(length=16, null=True, default=None)
    citizenship = Varchar(length=3, null=True, default=None)
    no_kk = Varchar(length=NIK, null=True, default=None, index=True)
    address = Varchar(length=255, null=True, default=None)
    rt_code = Varchar(length=RT_CODE, null=True, default=None)
    city_code = Varchar(length=5, index=True)
    father_name = Varchar(length=150, null=True, default=None)
    mother_name = Varchar(length=150, null=True, default=None)
    phone = Varchar(length=20, null=True, default=None)
    blood_type = Varchar(length=3, null=True, default=None)
    status = Varchar(length=10, default="active")  # active | deceased | moved_out
    date_of_death = Date(null=True, default=None)
    origin = Varchar(length=8, default="import")  # import | service
    registered_at = Timestamptz()
    updated_at = Timestamptz()


class Household(Table, tablename="household"):
    """A family card (KK). Members are the residents whose no_kk is this one."""

    no_kk = Varchar(length=NIK, primary_key=True)
    rt_code = Varchar(length=RT_CODE, null=True, default=None, index=True)
    city_code = Varchar(length=5, index=True)
    head_nik = Varchar(length=NIK, null=True, default=None)
    updated_at = Timestamptz()


class KKHistory(Table, tablename="kk_history"):
    """A past KK membership: the resident was in ``no_kk`` as ``shdk`` until ``left_on``."""

    id = BigSerial(primary_key=True)
    nik = Varchar(length=NIK, index=True)
    no_kk = Varchar(length=NIK, index=True)
    shdk = Varchar(length=16, null=True, default=None)
    left_on = Date()
    service_record_id = BigInt(null=True, default=None)


class Document(Table, tablename="document"):
    """A document the registry issued to a resident (KTP-el, KIA, KK, akta, surat pindah)."""

    id = BigSerial(primary_key=True)
    nik = Varchar(length=NIK, index=True)
    type = Varchar(length=20)
    number = Varchar(length=64, null=True, default=None)
    issued_at = Timestamptz()
    service_record_id = BigInt(null=True, default=None)


class ServiceRecord(Table, tablename="service_record"):
    """A completed registry service that was applied. (source, external_id) is unique:
    the idempotency key of POST /api/v1/services."""

    id = BigSerial(primary_key=True)
    source = Varchar(length=64)
    external_id = Varchar(length=128)
    type = Varchar(length=20)
    city_code = Varchar(length=5, index=True)
    nik = Varchar(length=NIK, index=True)
    rt_code = Varchar(length=RT_CODE, null=True, default=None)
    document_number = Varchar(length=64, null=True, default=None)
    completed_at = Timestamptz()
    received_at = Timestamptz()
    payload_hash = Varchar(length=64)
    warnings = Text(default="[]")  # JSON list of {"field", "message"}
    submitted_by = BigInt(null=True, default=None)


class ResidentChange(Table, tablename="resident_change"):
    """The append-only ledger history: one row per resident per change.

    ``event_date`` is when it happened (birth, death, move date), ``reported_at`` when
    it reached the ledger, as OpenSID's log_penduduk keeps both, so monthly books can
    be recomputed for any month.
    """

    id = BigSerial(primary_key=True)
    nik = Varchar(length=NIK, index=True)
    city_code = Varchar(length=5)
    rt_code = Varchar(length=RT_CODE, null=True, default=None)
    kind = Varchar(length=24)  # the event effect, see rtbook.core.ledger.effects
    event_date = Date()
    reported_at = Timestamptz()
    service_record_id = BigInt(null=True, default=None)
    before = Text(null=True, default=None)  # JSON of the fields as they were
    after = Text(null=True, default=None)  # JSON of the fields as they became


class Event(Table, tablename="event"):
    """A feed event of one RT (CloudEvents 1.0 when served)."""

    id = BigSerial(primary_key=True)
    city_code = Varchar(length=5)
    seq = BigInt()
    rt_code = Varchar(length=RT_CODE)
    service_record_id = BigInt(null=True, default=None)
    effect = Varchar(length=24)
    time = Timestamptz()
    data = Text()  # JSON: the CloudEvent's data member
    created_at = Timestamptz()


class User(Table, tablename="rtbook_user"):
    id = BigSerial(primary_key=True)
    username = Varchar(length=64, unique=True)
    role = Varchar(length=16)  # admin | city_admin | rt_head | health_worker | integrator
    city_code = Varchar(length=5, null=True, default=None, index=True)
    whatsapp = Varchar(length=20, null=True, default=None)  # E.164
    email = Varchar(length=254, null=True, default=None)
    password_hash = Text(null=True, default=None)  # argon2id
    language = Varchar(length=5, default="id")
    is_active = Boolean(default=True)
    created_at = Timestamptz()


class UserRT(Table, tablename="user_rt"):
    """The RTs an rt_head is head of."""

    id = BigSerial(primary_key=True)
    user_id = BigInt(index=True)
    rt_code = Varchar(length=RT_CODE, index=True)


class UserArea(Table, tablename="user_area"):
    """The regions (city, kecamatan or kelurahan) a health worker serves."""

    id = BigSerial(primary_key=True)
    user_id = BigInt(index=True)
    region_code = Varchar(length=CODE)


class ApiToken(Table, tablename="api_token"):
    """An API token, stored as its SHA-256 (tokens carry 256 random bits)."""

    id = BigSerial(primary_key=True)
    user_id = BigInt(index=True)
    token_hash = Varchar(length=64, unique=True)
    prefix = Varchar(length=12)
    created_at = Timestamptz()
    last_used_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)


class WebSession(Table, tablename="web_session"):
    """A browser session of the pages (rtbook.core.sessions), stored as the SHA-256 of
    the random id in the ``rtbook_session`` cookie; the id itself is never stored."""

    id_hash = Varchar(length=64, primary_key=True)
    user_id = BigInt(index=True)
    created_at = Timestamptz()  # UTC; absolute timeout counts from here
    last_seen_at = Timestamptz(index=True)  # UTC; idle timeout counts from here
    csrf_token = Varchar(length=64)  # the session's CSRF token (forms, X-CSRF-Token)


class PluginSetting(Table, tablename="plugin_setting"):
    """A plugin's state in one city: installed is not enabled (CONTRACT.md, Plugins)."""

    id = BigSerial(primary_key=True)
    city_code = Varchar(length=5)
    plugin = Varchar(length=64)
    enabled = Boolean(default=False)
    config = Text(default="{}")  # JSON, secrets included: masked on every read
    # The city's event_seq when the plugin was last enabled: dispatch starts after it,
    # so a plugin enabled later starts at the end of the feed, not the city's history.
    start_seq = BigInt(default=0)
    updated_at = Timestamptz()
    updated_by = BigInt(null=True, default=None)


class DispatchCheckpoint(Table, tablename="dispatch_checkpoint"):
    """How far one plugin has read one city's feed; leased by one worker at a time."""

    id = BigSerial(primary_key=True)
    plugin = Varchar(length=64)
    city_code = Varchar(length=5)
    last_seq = BigInt(default=0)
    lease_owner = Varchar(length=64, null=True, default=None)
    lease_until = Timestamptz(null=True, default=None)
    updated_at = Timestamptz()


class DispatchFailure(Table, tablename="dispatch_failure"):
    """A hook call that raised: retried with backoff, then parked as a dead letter."""

    id = BigSerial(primary_key=True)
    plugin = Varchar(length=64)
    city_code = Varchar(length=5)
    seq = BigInt()
    status = Varchar(length=8)  # retrying | dead | done
    attempts = Integer(default=0)
    next_attempt_at = Timestamptz(null=True, default=None)
    last_error = Text(null=True, default=None)  # secrets and NIKs redacted
    created_at = Timestamptz()
    updated_at = Timestamptz()


class WorkerLease(Table, tablename="worker_lease"):
    """A named lease a worker renews while it runs (one dispatcher on SQLite)."""

    name = Varchar(length=64, primary_key=True)
    owner = Varchar(length=64)
    expires_at = Timestamptz()


class Delivery(Table, tablename="delivery"):
    """One message about one feed event to one recipient over one channel
    (unique on event_id, user_id, channel: see the raw-SQL migration)."""

    id = BigSerial(primary_key=True)
    # the CloudEvent id "<city>-<seq>", a plugin notice's key or "digest:<city>:<date>"
    event_id = Varchar(length=64)
    city_code = Varchar(length=5, index=True)
    seq = BigInt()
    user_id = BigInt(index=True)
    channel = Varchar(length=32)
    address = Varchar(length=254)  # E.164 number or e-mail address
    status = Varchar(length=8)  # pending | sending | sent | failed | dead
    attempts = Integer(default=0)
    next_attempt_at = Timestamptz(null=True, default=None)  # due time, or lease end while sending
    provider_message_id = Varchar(length=255, null=True, default=None)
    last_error = Text(null=True, default=None)  # secrets and NIKs redacted
    # JSON list of the last attempt's per-target results (rtbook.core.notify.channels
    # .TargetOutcome), addresses masked, secrets redacted; null when the sender gave none
    result = Text(null=True, default=None)
    subject = Varchar(length=255, null=True, default=None)
    body = Text()
    language = Varchar(length=5, default="id")
    created_at = Timestamptz()
    sent_at = Timestamptz(null=True, default=None)
    updated_at = Timestamptz()


class NoticeAttachment(Table, tablename="notice_attachment"):
    """A file sent with a plugin notice (rtbook.core.notify.notices), once per city
    and key (unique on city_code, notice_key, filename: see the raw-SQL migration);
    deleted by the retention purge once no delivery of the key may still send it."""

    id = BigSerial(primary_key=True)
    city_code = Varchar(length=5)
    notice_key = Varchar(length=64, index=True)
    filename = Varchar(length=100)
    media_type = Varchar(length=127)
    content = Bytea()
    created_at = Timestamptz()


class NotificationPreference(Table, tablename="notification_preference"):
    """A recipient's choices; no row means every channel, every service, no quiet
    hours, no digest, the user's language."""

    id = BigSerial(primary_key=True)
    user_id = BigInt(unique=True)
    channels = Text(null=True, default=None)  # JSON list; null = every channel
    service_types = Text(null=True, default=None)  # JSON list; null = every service type
    quiet_start = Varchar(length=5, null=True, default=None)  # HH:MM city time; null = off
    quiet_end = Varchar(length=5, null=True, default=None)
    daily_digest = Boolean(default=False)
    language = Varchar(length=5, default="id")  # id | en
    updated_at = Timestamptz()


class NotifyCheckpoint(Table, tablename="notify_checkpoint"):
    """How far the notification hub has planned deliveries from one city's feed."""

    city_code = Varchar(length=5, primary_key=True)
    last_seq = BigInt(default=0)
    updated_at = Timestamptz()


class DigestCheckpoint(Table, tablename="digest_checkpoint"):
    """The last city-local day whose daily digests the hub has built for one city."""

    city_code = Varchar(length=5, primary_key=True)
    last_day = Date()
    updated_at = Timestamptz()


class DailyCheckpoint(Table, tablename="daily_checkpoint"):
    """``rtbook_daily`` per plugin and city (unique on plugin, city_code): the last
    city-local day it returned for, and the claim of the worker calling it now."""

    id = BigSerial(primary_key=True)
    plugin = Varchar(length=64)
    city_code = Varchar(length=5)
    last_day = Date(null=True, default=None)
    claimed_by = Varchar(length=64, null=True, default=None)
    claimed_until = Timestamptz(null=True, default=None)  # a claim or a retry pause
    attempts = Integer(default=0)  # failed calls since the last day that returned
    last_error = Text(null=True, default=None)  # secrets and NIKs redacted
    updated_at = Timestamptz()


class AuditLog(Table, tablename="audit_log"):
    """Who read or changed which personal data, when (rtbook.core.audit). Never a
    full NIK: ``target`` is an area or RT code, or a masked NIK."""

    id = BigSerial(primary_key=True)
    at = Timestamptz(index=True)  # UTC
    user_id = BigInt(null=True, default=None, index=True)  # null: a trusted internal caller
    username = Varchar(length=64, null=True, default=None)
    action = Varchar(length=64)  # e.g. lansia.list, lansia.dose.add
    target = Varchar(length=64, null=True, default=None)  # area/RT code, masked NIK
    scope = Varchar(length=5, null=True, default=None, index=True)  # the city code
    detail = Text(default="{}")  # JSON: rows, format, filters


class RateCounter(Table, tablename="rate_counter"):
    """A rate-limit counter (rtbook.core.ratelimit): failed logins per account or
    client, API requests per token or client. Times are Unix seconds so that one SQL
    text does the window arithmetic on SQLite and PostgreSQL."""

    key = Varchar(length=200, primary_key=True)  # e.g. login:user:budi, api:tok:<hash>
    window_start = DoublePrecision(index=True)  # start of the counting window
    hits = Integer(default=0)  # events counted in that window
    blocked_until = DoublePrecision(null=True, default=None)  # a lockout, healing then


class FeedRead(Table, tablename="feed_read"):
    """How far one user has read one RT's feed (the "Kabar warga" page): events with
    a greater ``seq`` are unread for them (rtbook.core.feed_reads). Unique on
    (user_id, rt_code): see the raw-SQL migration."""

    id = BigSerial(primary_key=True)
    user_id = BigInt()
    rt_code = Varchar(length=RT_CODE)
    last_seq = BigInt(default=0)
    updated_at = Timestamptz()


CORE_TABLES: list[type[Table]] = [
    Region,
    City,
    RT,
    Resident,
    Household,
    KKHistory,
    Document,
    ServiceRecord,
    ResidentChange,
    Event,
    User,
    UserRT,
    UserArea,
    ApiToken,
    PluginSetting,
    DispatchCheckpoint,
    DispatchFailure,
    WorkerLease,
    Delivery,
    NotificationPreference,
    NotifyCheckpoint,
    AuditLog,
    DigestCheckpoint,
    DailyCheckpoint,
    RateCounter,
    WebSession,
    FeedRead,
    NoticeAttachment,
]
