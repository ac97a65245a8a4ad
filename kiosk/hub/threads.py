"""Which threads the hub's request handlers run on.

FastAPI runs a plain `def` handler on anyio's worker threads, `hub.request_threads` at once (kiosk/hub/app.py).
A handler that may wait on the platform (a status lookup, a 好差评 upload, a catalog refresh) holds its thread
until the platform answers or `platform.timeout_s` passes: with a hanging platform a few such requests would hold
every request thread, and clerks' claims would wait behind them. `platform_calls` runs such a handler on threads
of its own, `PLATFORM_THREADS` at once.
"""
from __future__ import annotations

import functools
import inspect

import anyio
import anyio.to_thread
from anyio.lowlevel import RunVar

PLATFORM_THREADS = 16

_limiter: RunVar[anyio.CapacityLimiter] = RunVar("platform_call_limiter")


def _platform_limiter() -> anyio.CapacityLimiter:
    try:
        return _limiter.get()
    except LookupError:  # the first platform call of this event loop
        limiter = anyio.CapacityLimiter(PLATFORM_THREADS)
        _limiter.set(limiter)
        return limiter


def platform_calls(handler):
    """Decorator (under the route's): run the sync `handler` on the platform-call threads."""
    @functools.wraps(handler)
    async def on_platform_threads(*args, **kwargs):
        return await anyio.to_thread.run_sync(functools.partial(handler, *args, **kwargs),
                                              limiter=_platform_limiter())

    # FastAPI reads the parameters from the signature; the handler's module resolves its annotations.
    on_platform_threads.__signature__ = inspect.signature(handler, eval_str=True)
    return on_platform_threads
