"""The console's change feed, in process: one shared poll, only while live views are open, bounded."""

from __future__ import annotations

import asyncio

from openline.services.insight import ChangeFeed, Marks


class FakeInsight:
    def __init__(self) -> None:
        self.marks_now = Marks(1, 1, 1)
        self.polls = 0

    async def marks(self) -> Marks:
        self.polls += 1
        return self.marks_now


async def test_feed_wakes_views_on_new_rows_and_polls_only_while_they_are_open() -> None:
    insight = FakeInsight()
    feed = ChangeFeed(insight, interval=0.01, max_streams=8)  # type: ignore[arg-type]
    assert insight.polls == 0  # nothing open, nothing polled
    async with feed.subscribe() as admitted, feed.subscribe() as second:
        assert admitted and second and feed.open_streams == 2
        await asyncio.wait_for(feed.signal().wait(), 1)  # the first look counts as a change
        quiet = feed.signal()
        await asyncio.sleep(0.05)
        assert not quiet.is_set()  # the same ids: nobody is woken
        insight.marks_now = Marks(2, 1, 1)
        await asyncio.wait_for(quiet.wait(), 1)
    await asyncio.sleep(0.05)
    polls = insight.polls
    await asyncio.sleep(0.05)
    assert insight.polls == polls and feed.open_streams == 0  # stopped with the last view


async def test_feed_refuses_views_beyond_its_bound_and_survives_a_failing_database() -> None:
    class Failing(FakeInsight):
        async def marks(self) -> Marks:
            self.polls += 1
            raise OSError("database unavailable")

    feed = ChangeFeed(Failing(), interval=0.01, max_streams=1)  # type: ignore[arg-type]
    async with feed.subscribe() as first:
        assert first
        async with feed.subscribe() as refused:
            assert not refused and feed.open_streams == 1
        await asyncio.sleep(0.05)
        assert feed.open_streams == 1  # the poll failed, the view stays open
