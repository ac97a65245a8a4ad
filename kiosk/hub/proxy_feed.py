"""The live feed of 代办 events: an in-process broadcast to server-sent-event clients and waiting claimers, and on
PostgreSQL a LISTEN connection on the event loop so a change made by another hub process reaches this one's clients too.

Every event is published twice at most: locally right after its transaction commits, and through NOTIFY (sent
inside the transaction, so delivered on commit). A process drops its own NOTIFY messages by their `origin`."""
from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
import uuid
from typing import Any, Callable

log = logging.getLogger("kiosk.hub.proxy_feed")
WAKE_ACTIONS = ("created", "released", "lease_expired")  # events that put a request (back) in the pool


APPLICATION_NAME = "govkiosk hub listen"  # the LISTEN connection, as pg_stat_activity shows it


class Feed:
    """Thread-safe fan-out of event dicts to asyncio subscribers (each with its own filter)."""

    def __init__(self) -> None:
        self.origin = uuid.uuid4().hex[:12]
        self._lock = threading.Lock()
        self._subs: dict[int, tuple[asyncio.AbstractEventLoop, asyncio.Queue, Callable[[dict], bool]]] = {}
        self._next = 0
        # Claimers waiting for work (long-poll claims), oldest first. An event that puts a request in the pool
        # wakes one of them, not all: the others would only find the pool empty again.
        self._waiters: dict[int, tuple[asyncio.AbstractEventLoop, asyncio.Future, Callable[[dict], bool]]] = {}

    def subscribe(self, accept: Callable[[dict], bool], maxsize: int = 1000) -> tuple[int, asyncio.Queue]:
        """Call from the event loop that will read the queue."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue = asyncio.Queue(maxsize=maxsize)
        with self._lock:
            self._next += 1
            sid = self._next
            self._subs[sid] = (loop, queue, accept)
        return sid, queue

    def unsubscribe(self, sid: int) -> None:
        with self._lock:
            self._subs.pop(sid, None)

    def wait_one(self, accept: Callable[[dict], bool]) -> tuple[int, asyncio.Future]:
        """Register a waiting claimer (call from its event loop). Its future gets the first event it accepts that
        no older waiter took; `cancel_wait` when it stops waiting."""
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        with self._lock:
            self._next += 1
            wid = self._next
            self._waiters[wid] = (loop, fut, accept)
        return wid, fut

    def cancel_wait(self, wid: int) -> None:
        with self._lock:
            self._waiters.pop(wid, None)

    @property
    def waiters(self) -> int:
        with self._lock:
            return len(self._waiters)

    def wake_one(self, event: dict[str, Any]) -> bool:
        """Hand `event` to the oldest waiter that accepts it; False when none does."""
        with self._lock:
            waiting = list(self._waiters.items())
        for wid, (loop, fut, accept) in waiting:  # filters run outside the lock (one may read the outlet tree)
            try:
                if not accept(event):
                    continue
            except Exception:
                continue
            with self._lock:
                if self._waiters.pop(wid, None) is not None:
                    break
        else:
            return False
        try:
            _call_on(loop, self._resolve, fut, event)
        except RuntimeError:  # that loop has closed: pass the event on
            return self.wake_one(event)
        return True

    def _resolve(self, fut: asyncio.Future, event: dict) -> None:
        if fut.done():  # that waiter gave up in the meantime: the next one gets the event
            self.wake_one(event)
        else:
            fut.set_result(event)

    @property
    def subscribers(self) -> int:
        with self._lock:
            return len(self._subs)

    def publish(self, event: dict[str, Any]) -> None:
        with self._lock:
            subs = list(self._subs.values())
        for loop, queue, accept in subs:
            try:
                if not accept(event):
                    continue
            except Exception:
                continue
            try:
                _call_on(loop, _put, queue, event)
            except RuntimeError:  # that loop has closed: its subscriber is gone
                pass
        if event.get("action") in WAKE_ACTIONS:
            self.wake_one(event)


def _call_on(loop: asyncio.AbstractEventLoop, fn: Callable, *args) -> None:
    """`fn(*args)` soon on `loop`: queued directly when called on that loop (most events are published there; no
    write to wake it), thread-safely otherwise. RuntimeError when that loop has closed."""
    try:
        here = asyncio.get_running_loop()
    except RuntimeError:
        here = None
    if here is loop:
        loop.call_soon(fn, *args)
    else:
        loop.call_soon_threadsafe(fn, *args)


def _put(queue: asyncio.Queue, event: dict) -> None:
    try:
        queue.put_nowait(event)
    except asyncio.QueueFull:  # a client that stopped reading loses events, never the hub its memory
        pass


def channel_name(schema: str | None) -> str:
    """The NOTIFY channel: one per database schema (channels are database-wide)."""
    base = "proxy_events"
    if schema and schema != "public":
        base += "_" + re.sub(r"[^a-z0-9_]", "_", schema.lower())
    return base[:63]


class PgListener:
    """LISTEN on the channel with its own connection, on the hub's event loop (no thread: one waking for each of
    the hub's own NOTIFY messages fought the loop for the GIL); each notification from another process is
    published. `start` on the loop, `stop` from anywhere, `closed()` awaited on the loop at shutdown."""

    RETRY_S = 1.0

    def __init__(self, conninfo: str, channel: str, feed: Feed) -> None:
        self.conninfo = conninfo
        self.channel = channel
        self.feed = feed
        self.ready = threading.Event()  # listening (tests wait for it from other threads)
        self._task: asyncio.Task | None = None
        # this process's own messages, told apart before parsing: the key and value as PostgreSQL's
        # json_build_object writes them (CREATE_PG, CLAIM_PG, TRANSITION_PG) and as json.dumps does (ProxyService.tx).
        # A string value cannot hold either (its quotes are escaped).
        self._own = (f'"_origin" : "{feed.origin}"', f'"_origin": "{feed.origin}"')

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="proxy-listen")

    def stop(self) -> None:
        self.ready.clear()
        if self._task is not None:
            self._task.get_loop().call_soon_threadsafe(self._task.cancel)

    async def closed(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _run(self) -> None:
        import psycopg

        while True:
            try:
                async with await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True,
                                                                application_name=APPLICATION_NAME) as conn:
                    await conn.execute(f'LISTEN "{self.channel}"')
                    self.ready.set()
                    async for note in conn.notifies():
                        self._deliver(note.payload)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.ready.clear()
                log.warning("proxy LISTEN connection lost; reconnecting", extra={"error": type(exc).__name__})
                await asyncio.sleep(self.RETRY_S)

    def _deliver(self, payload: str) -> None:
        if any(own in payload for own in self._own):
            return  # published here already, right after its commit
        try:
            events = json.loads(payload)
        except ValueError:
            return
        for event in events if isinstance(events, list) else [events]:
            if isinstance(event, dict) and event.get("_origin") != self.feed.origin:
                self.feed.publish(event)
