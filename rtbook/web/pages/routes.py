"""Every phone page rtbook itself serves (plugins add theirs through
``rtbook_page_routes``). Each area of pages lives in a module of its own and is
listed here once."""

from __future__ import annotations

from litestar.types import ControllerRouterHandler

from rtbook.web.home import HOME_HANDLERS
from rtbook.web.pages.admin_routes import ADMIN_HANDLERS
from rtbook.web.pages.assets import ASSET_HANDLERS
from rtbook.web.pages.rt_routes import RT_PAGE_HANDLERS

PAGE_HANDLERS: tuple[ControllerRouterHandler, ...] = (
    *HOME_HANDLERS,
    *ASSET_HANDLERS,
    *ADMIN_HANDLERS,
    *RT_PAGE_HANDLERS,
)
