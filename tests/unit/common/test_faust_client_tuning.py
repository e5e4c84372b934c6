"""The Faust workers' client settings for the embedded broker, and their collector settings."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from pathlib import Path

import faust
import pytest

from services.common.faust_app import make_faust_app
from services.common.fetch_wait import limit_fetch_wait
from services.common.gc_tuning import GC_THRESHOLDS, tune_gc
from services.common.recovery_ends import fetch_ends, read_changelog_ends_by_fetch
from services.common.settings import CommonSettings


def _worker_consumer_fetch_wait(app: faust.App) -> int:
    thread = app.consumer._thread  # type: ignore[attr-defined]

    async def create() -> int:
        client = thread._create_consumer(asyncio.get_running_loop())
        return int(client._fetch_max_wait_ms)

    return asyncio.run(create())


def _app() -> faust.App:
    return faust.App("fetch-wait-test", broker="kafka://127.0.0.1:1", web_enabled=False)


def test_a_limited_fetch_wait_reaches_the_worker_consumer() -> None:
    app = _app()
    limit_fetch_wait(app, 20)
    assert _worker_consumer_fetch_wait(app) == 20


def test_both_consumer_adjustments_hold_together() -> None:
    app = _app()
    limit_fetch_wait(app, 20)
    read_changelog_ends_by_fetch(app, ["127.0.0.1:1"])
    assert _worker_consumer_fetch_wait(app) == 20
    highwaters = app.consumer.highwaters
    assert highwaters.__qualname__.startswith("read_changelog_ends_by_fetch")
    assert fetch_ends.__name__ in highwaters.__code__.co_names


def test_faust_alone_waits_1500_ms() -> None:
    # What limit_fetch_wait replaces; if Faust changes it, the module's reasoning needs a look.
    assert _worker_consumer_fetch_wait(_app()) == 1500


@pytest.fixture
def restore_gc() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_tune_gc_freezes_start_up_objects_and_collects_young_objects_less_often(
    restore_gc: None,
) -> None:
    kept = [object() for _ in range(10)]
    tune_gc()
    assert gc.get_threshold() == GC_THRESHOLDS
    assert gc.get_freeze_count() >= len(kept)


def test_the_stall_log_setting_reaches_fausts_partition_checks(tmp_path: Path) -> None:
    settings = CommonSettings(bootstrap_servers="127.0.0.1:1", faust_stall_log_after_s=20)
    app = make_faust_app(
        "stall-log-test",
        settings,
        web_host="127.0.0.1",
        web_port=1,  # never bound: the app is not started
        data_dir=str(tmp_path),
        service="test",
    )
    thread = app.consumer._thread  # type: ignore[attr-defined]
    # What Faust's livelock check compares a partition's idle time with.
    assert thread.tp_stream_timeout_secs == thread.tp_fetch_request_timeout_secs == 20
    assert thread.tp_commit_timeout_secs == 20
    assert CommonSettings(bootstrap_servers="127.0.0.1:1").faust_stall_log_after_s == 300
