"""The pages of an RT's readers and every user's settings: the buku induk, a
resident, the feed ("Kabar warga") and notification settings."""

from __future__ import annotations

from rtbook.web.pages.feed import FEED_HANDLERS
from rtbook.web.pages.resident import RESIDENT_HANDLERS
from rtbook.web.pages.settings_page import SETTINGS_HANDLERS
from rtbook.web.pages.ward import WARD_HANDLERS

RT_PAGE_HANDLERS = (*WARD_HANDLERS, *RESIDENT_HANDLERS, *FEED_HANDLERS, *SETTINGS_HANDLERS)
