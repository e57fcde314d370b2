"""The lansia plugin's HTTP routes (mounted under /api/v1 behind the plugin gate,
which answers 404 in a city where the plugin is not enabled).

- ``GET /lansia?area=&as_of=&not_vaccinated=&missing_dose=&vaccine=&format=``: the
  list, streamed as JSON, CSV (``Accept: text/csv``) or XLSX (``Accept:`` the XLSX
  media type); ``format=csv|xlsx|json`` wins over Accept (for links in a browser).
- ``POST /lansia/doses``: record a dose (200), 422 with details, 409 when recorded.
- ``GET /lansia/residents/{nik}/doses``: one resident's doses.

Imported only by the ``rtbook_api_routes`` hook, so the plugin imports without the
web layer.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody, Parameter
from litestar.response import Stream

from rtbook.core.ledger.reads import InvalidQuery
from rtbook.core.validation import NIK_PATTERN
from rtbook.web.deps import DB, Caller
from rtbook.web.errors import ApiError, ErrorDetail, error_responses, error_spec
from rtbook.web.params import choice_query, text_query
from rtbook_lansia import doses as dose_store
from rtbook_lansia.exports import MEDIA_TYPES, csv_chunks, json_chunks, xlsx_chunks
from rtbook_lansia.listing import FORMATS, LansiaList, iter_pages, parse_query, start_list

TAGS = ["lansia"]
LIST_RESPONSES = {
    200: ResponseSpec(
        data_container=LansiaList,
        description=(
            "Daftar lansia; CSV dengan `Accept: text/csv`, XLSX dengan `Accept: "
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet` "
            "(the lansia list; CSV or XLSX by Accept)"
        ),
        generate_examples=False,
    ),
    **error_responses(400, 401, 403, 404),
}


def pick_format(request: Request[Any, Any, Any], requested: str | None) -> str:
    """``format`` when given, else the best match of the Accept header (JSON default)."""
    if requested:
        text = requested.strip().lower()
        if text not in FORMATS:
            raise InvalidQuery("format", "harus json, csv atau xlsx (must be json, csv or xlsx)")
        return text
    offered = [MEDIA_TYPES["json"], MEDIA_TYPES["csv"], MEDIA_TYPES["xlsx"]]
    best = request.accept.best_match(offered, default=MEDIA_TYPES["json"])
    return next(fmt for fmt, media in MEDIA_TYPES.items() if media == best)


LIST_ROUTE = dict(
    path="/lansia",
    summary="Daftar lansia satu wilayah (the lansia list of an area)",
    description=(
        "Penduduk aktif yang umurnya pada `as_of` (tahun penuh; lahir 29 Februari berulang "
        "tahun 1 Maret di tahun biasa) paling sedikit `min_age` kota (bawaan 60), urut RT "
        "lalu nama, dengan dosis vaksinnya. `area`: kode kota, kecamatan, kelurahan atau RT. "
        "`not_vaccinated=true`: belum divaksin; `missing_dose=N`: belum dosis N; `vaccine` "
        "mempersempit keduanya. (Active residents at least `min_age` on `as_of`, by RT then "
        "name, with their doses; filters for not yet vaccinated and dose N missing.)"
    ),
    tags=TAGS,
    responses=LIST_RESPONSES,
)


async def lansia_list(
    request: Request[Any, Any, Any],
    db: DB,
    principal: Caller,
    area: Annotated[
        str | None,
        text_query("Kode kota, kecamatan, kelurahan atau RT (area code)", max_length=32),
    ] = None,
    as_of: Annotated[
        str | None, text_query("Tanggal YYYY-MM-DD (date); kosong = hari ini di kota itu")
    ] = None,
    not_vaccinated: Annotated[
        str | None, choice_query("Hanya yang belum divaksin (not vaccinated)", ("true", "false"))
    ] = None,
    missing_dose: Annotated[
        str | None, text_query("Hanya yang belum menerima dosis N, 1..10 (dose N missing)")
    ] = None,
    vaccine: Annotated[
        str | None, text_query("Nama vaksin untuk kedua saringan (vaccine for the filters)")
    ] = None,
    format: Annotated[
        str | None, choice_query("json, csv atau xlsx (instead of Accept)", FORMATS)
    ] = None,
) -> Stream:
    query = parse_query(
        area, as_of, not_vaccinated=not_vaccinated, missing_dose=missing_dose, vaccine=vaccine
    )
    fmt = pick_format(request, format)
    start = await db.write(start_list(principal, query, fmt, with_doses=fmt != "csv"))
    pages = iter_pages(db, start)
    if fmt == "csv":
        chunks = csv_chunks(pages)
    elif fmt == "xlsx":
        chunks = xlsx_chunks(pages, title=f"lansia {start.spec.area.code}")
    else:
        chunks = json_chunks(pages)
    filename = f"lansia-{start.spec.area.code}-{start.spec.as_of.isoformat()}.{fmt}"
    headers = {"Cache-Control": "no-store"}
    if fmt != "json":
        headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return Stream(chunks, media_type=MEDIA_TYPES[fmt], headers=headers)


def _refused(exc: dose_store.DoseRefused) -> ApiError:
    return ApiError(
        422,
        "dosis vaksin tidak dapat dicatat (dose refused)",
        [ErrorDetail(i.field, i.message) for i in exc.issues],
    )


DOSE_ROUTE = dict(
    path="/lansia/doses",
    status_code=200,
    summary="Catat dosis vaksin (record a vaccine dose)",
    description=(
        "Petugas kesehatan di wilayahnya, city_admin kotanya, admin (admin menambah "
        "`?city=`). Penduduk harus ada (404) dan dalam wilayah pemanggil (403); nomor dosis "
        "1..10; tanggal tidak di masa depan; dosis yang sama untuk vaksin yang sama: 409. "
        "(Health workers in their areas, city_admin, admin; 404 unknown resident, 403 out of "
        "scope, 422 bad fields, 409 already recorded.)"
    ),
    tags=TAGS,
    responses={
        **error_responses(400, 401, 403, 404, 422),
        409: error_spec("Dosis itu sudah tercatat (that dose is already recorded)"),
    },
)


async def add_dose(
    db: DB, principal: Caller, data: JSONBody[dose_store.DoseInput]
) -> dose_store.DoseRecorded:
    try:
        dose = dose_store.check_dose(data)
        return await db.write(dose_store.add_dose(principal, dose))
    except dose_store.DoseRefused as exc:
        raise _refused(exc) from None
    except dose_store.DoseExists as exc:
        raise ApiError(409, str(exc)) from None


NIK_PATH = Parameter(description="NIK penduduk (the resident's NIK), 16 digit")


DOSES_ROUTE = dict(
    path="/lansia/residents/{nik:str}/doses",
    summary="Dosis vaksin satu penduduk (a resident's doses)",
    description=(
        "Siapa pun yang boleh melihat daftar lansia RT penduduk itu (whoever may see the "
        "lansia list of the resident's RT); admin menambah `?city=`."
    ),
    tags=TAGS,
    responses=error_responses(400, 401, 403, 404),
)


async def resident_doses(
    db: DB, principal: Caller, nik: Annotated[str, NIK_PATH]
) -> dose_store.ResidentDoses:
    if not NIK_PATTERN.fullmatch(nik):
        raise InvalidQuery("nik", "NIK harus tepat 16 digit angka (must be 16 digits)")
    return await db.write(dose_store.resident_doses(principal, nik))


def handlers() -> list[Any]:
    """New handler objects on every call (each app gets its own)."""
    return [
        get(**LIST_ROUTE)(lansia_list),
        post(**DOSE_ROUTE)(add_dose),
        get(**DOSES_ROUTE)(resident_doses),
    ]
