"""Child process that runs Piccolo's migrations (see rtbook.core.schema)."""

from __future__ import annotations

import asyncio
import sys


async def _main() -> int:
    from piccolo.apps.migrations.commands.forwards import run_forwards

    result = await run_forwards(app_name="all", migration_id="all", fake=False)
    if not result.success:
        print(result.message, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(_main()))
