"""Faust workers log as every other service: JSON at the configured level.

mode's worker set-up used to replace our handler with its coloured one and, at WARNING, Faust's
spinner put the root logger at DEBUG, so every debug call in Faust and aiokafka built a record.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import faust
import pytest

from services.common.faust_app import NazorgWorker
from services.common.logging import JsonFormatter


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.parametrize("level", ["WARNING", "INFO"])
def test_worker_set_up_keeps_json_logs_at_the_configured_level(
    level: str, restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    app = faust.App("logging-test", broker="kafka://127.0.0.1:1", web_enabled=False)
    worker = NazorgWorker(app, log_level=level, log_format="json")
    worker.redirect_stdouts = False  # it would replace sys.stdout/stderr for the later tests
    worker._setup_logging()

    root = logging.getLogger()
    assert root.level == logging.getLevelName(level)
    assert not logging.getLogger("faust.topics").isEnabledFor(logging.DEBUG)
    assert [type(h.formatter) for h in root.handlers] == [JsonFormatter]
    assert worker.spinner is None

    logging.getLogger("faust.worker").warning("rebalancing", extra={"partitions": 4})
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert json.loads(line)["msg"] == "rebalancing"
    assert json.loads(line)["partitions"] == 4
