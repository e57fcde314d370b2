"""GET /: what this server is and where its API lives, for whoever opens the address
in a browser (the phone pages for RT heads are served by the web app)."""

from __future__ import annotations

from litestar import MediaType, get

from rtbook import __version__

_PAGE = f"""<!doctype html>
<html lang="id">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>rtbook</title>
<style>
body{{font-family:system-ui,sans-serif;max-width:40rem;margin:1rem auto;padding:0 1rem;
line-height:1.5;color:#1a1a1a}}
code{{background:#f0f0f0;padding:0 .2rem}} li{{margin:.3rem 0}}
</style>
</head>
<body>
<h1>rtbook {__version__}</h1>
<p>Buku induk RT yang selalu sinkron dengan Dukcapil. Server ini berjalan.
<br><em>The RT resident book, kept in sync with the civil registry. This server is up.</em></p>
<h2>API</h2>
<ul>
<li><a href="/health"><code>GET /health</code></a> &mdash; status server (server status)</li>
<li><a href="/schema/openapi.json"><code>/schema/openapi.json</code></a>
 &mdash; dokumen OpenAPI (the OpenAPI document)</li>
<li><code>POST /api/v1/services</code> &mdash; layanan Dukcapil yang selesai
 (completed registry services)</li>
<li><code>GET /api/v1/rts/{{rt}}/residents</code>, <code>/households</code>,
 <code>/events</code> &mdash; buku induk, KK dan kabar warga satu RT
 (an RT's residents, family cards and feed)</li>
</ul>
<p>Semua permintaan API memakai <code>Authorization: Bearer TOKEN</code>;
token dibuat dengan <code>rtbook token create NAMA</code>.
<br><em>Every API request carries a bearer token, made with
<code>rtbook token create USERNAME</code>.</em></p>
</body>
</html>
"""


@get("/", media_type=MediaType.HTML, include_in_schema=False, cache_control=None)
async def home() -> str:
    return _PAGE
