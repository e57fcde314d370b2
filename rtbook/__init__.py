"""rtbook: the RT resident book kept in sync with the civil registry.

Plugins import ``rtbook.hookimpl`` to mark their hook implementations.
"""

import pluggy

__version__ = "0.1.0"

PROJECT_NAME = "rtbook"

hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
hookspec = pluggy.HookspecMarker(PROJECT_NAME)

__all__ = ["PROJECT_NAME", "__version__", "hookimpl", "hookspec"]
