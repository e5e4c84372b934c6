"""The anchor for the detector benchmark: a bare Faust agent doing json.loads + a dict update.

Run as ``python -m bench.bare_faust`` with NAZORG_* settings; serves its count on /count.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import faust
from faust.web import Request, Response, View

from services.common.faust_app import NazorgWorker, make_faust_app
from services.common.gc_tuning import tune_gc
from services.common.settings import DetectorSettings


def main() -> None:
    settings = DetectorSettings()
    app = make_faust_app(
        settings.detector_app_id,
        settings,
        web_host=settings.detector_web_host,
        web_port=settings.detector_web_port,
        data_dir=settings.detector_data_dir,
        service="bare",
    )
    topic = app.topic(settings.topic_payment_events, partitions=settings.topic_partitions)
    seen: dict[str, Any] = {}
    counter = {"count": 0}

    @app.agent(topic, name="bare")
    async def bare(stream: faust.StreamT[Any]) -> AsyncIterator[None]:
        async for value in stream:
            event = json.loads(value)
            seen[event["data"].get("loan_id", "")] = event["id"]
            counter["count"] += 1
            yield None

    @app.page("/count")
    async def count(self: View, request: Request) -> Response:
        return self.json(counter)

    # The same worker class, logging and collector settings as the detector.
    worker = NazorgWorker(app, log_level=settings.log_level, log_format=settings.log_format)
    tune_gc()
    worker.execute_from_commandline()


if __name__ == "__main__":
    main()
