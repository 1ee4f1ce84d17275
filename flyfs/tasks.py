"""Small asyncio helpers every service and the client share."""

from __future__ import annotations

import asyncio
import contextlib


async def cancel_and_wait(task: asyncio.Task[object] | None) -> None:
    """Cancel a background task and wait until it has stopped (None: nothing to do).

    Waiting matters: a task cancelled but not awaited may still be inside
    its `finally` when the caller closes what the task uses.
    """
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
