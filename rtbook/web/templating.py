"""The Jinja environment of every page: rtbook's templates, then the folders plugins
give through ``rtbook_template_dirs`` (so a plugin's page can ``{% extends
"base.html" %}`` and a plugin cannot replace rtbook's own templates)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, select_autoescape
from markupsafe import Markup, escape

_GLOSSED = re.compile(r"(.+?) \(([^()]+)\)")


def gloss(text: str) -> Markup:
    """``"Buku induk (ward book)"`` -> the Indonesian words, with the English gloss
    in ``<span class="en">`` (shown only to readers who chose English)."""
    found = _GLOSSED.fullmatch(text)
    if found is None:
        return escape(text)
    return (
        escape(found.group(1))
        + Markup('<span class="en"> (')
        + escape(found.group(2))
        + Markup(")</span>")
    )


@cache
def _environment(extra_dirs: tuple[str, ...]) -> Environment:
    loaders = [PackageLoader("rtbook.web", "templates")]
    if extra_dirs:
        loaders.append(FileSystemLoader(list(extra_dirs)))
    env = Environment(
        loader=ChoiceLoader(loaders),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["gloss"] = gloss
    return env


def environment(extra_dirs: Sequence[str] = ()) -> Environment:
    """The (cached) environment for rtbook's templates plus ``extra_dirs``."""
    return _environment(tuple(str(d) for d in extra_dirs))
