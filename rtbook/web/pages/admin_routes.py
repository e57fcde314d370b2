"""Every handler of the city admin's pages (/admin/...), listed once for routes.py."""

from __future__ import annotations

from rtbook.web.pages.admin_access import ADMIN_ACCESS_HANDLERS
from rtbook.web.pages.admin_audit import ADMIN_AUDIT_HANDLERS
from rtbook.web.pages.admin_dead_letters import ADMIN_DEAD_LETTER_HANDLERS
from rtbook.web.pages.admin_deliveries import ADMIN_DELIVERY_HANDLERS
from rtbook.web.pages.admin_plugin import ADMIN_PLUGIN_HANDLERS
from rtbook.web.pages.admin_rt import ADMIN_RT_HANDLERS
from rtbook.web.pages.admin_user import ADMIN_USER_HANDLERS
from rtbook.web.pages.admin_users import ADMIN_USERS_HANDLERS

ADMIN_HANDLERS = (
    *ADMIN_RT_HANDLERS,
    *ADMIN_USERS_HANDLERS,
    *ADMIN_USER_HANDLERS,
    *ADMIN_PLUGIN_HANDLERS,
    *ADMIN_DELIVERY_HANDLERS,
    *ADMIN_DEAD_LETTER_HANDLERS,
    *ADMIN_AUDIT_HANDLERS,
    *ADMIN_ACCESS_HANDLERS,
)
