"""Run a FakeSmsc on its own event loop in a thread, for tests that drive Openline synchronously."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from tests.support.smsc import FakeSmsc

T = TypeVar("T")


class SmscThread:
    def __init__(self, **kwargs: Any) -> None:
        self._kwargs = kwargs
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.smsc: FakeSmsc | None = None

    def start(self) -> SmscThread:
        self._thread.start()
        self.smsc = self.call(self._start())
        return self

    async def _start(self) -> FakeSmsc:
        return await FakeSmsc(**self._kwargs).start()

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def run(self, fn: Any, *args: Any) -> Any:
        """Call a plain method of the SMSC on its loop."""
        async def invoke() -> Any:
            return fn(*args)
        return self.call(invoke())

    @property
    def port(self) -> int:
        assert self.smsc is not None
        return self.smsc.port

    def stop(self) -> None:
        if self.smsc is not None:
            self.call(self.smsc.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()
