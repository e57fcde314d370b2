"""GET /: what this server is and where its API lives, for whoever opens the address
in a browser, and who is logged in (with a logout button) when there is a session."""

from __future__ import annotations

from typing import Any

from litestar import MediaType, Request, Response, get

from rtbook.web.login import page_session, render


@get("/", media_type=MediaType.HTML, include_in_schema=False, cache_control=None)
async def home(request: Request[Any, Any, Any]) -> Response[str]:
    return render("home.html", session=await page_session(request))
