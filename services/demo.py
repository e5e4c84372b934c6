"""``nazorg demo``: the whole pipeline on this machine, end to end, then everything stopped.

Starts the embedded broker, ingest, detector and intervention (separate processes, SQLite),
posts the sample loan histories over HTTP, waits for the outcomes and prints them.
"""

from __future__ import annotations

import json
import shutil
import time
import urllib.request
from pathlib import Path

from schemas.codec import decode_outcome
from services.common.broker import running_broker
from services.common.kafka import read_topic
from services.common.settings import CommonSettings
from services.common.stack import LocalStack, client_settings
from services.sample_events import EXPECTED_SIGNALS, all_events, as_json_array

EXPECTED_OUTCOMES = len(EXPECTED_SIGNALS)
WAIT_S = 90.0


def post_events(stack: LocalStack, body: bytes) -> dict[str, object]:
    """POST a batch to ingest with the stack's token and return the decoded answer."""
    request = urllib.request.Request(  # noqa: S310 - loopback URL built by the stack
        f"{stack.ingest_url}/v1/events",
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {stack.api_token}",
        },
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        answer: dict[str, object] = json.loads(response.read())
        return answer


def wait_for_outcomes(settings: CommonSettings, expected: int, timeout_s: float) -> list[bytes]:
    """Read outcomes.v1 until `expected` distinct outcomes arrived or the time is up."""
    deadline = time.monotonic() + timeout_s
    seen: dict[str, bytes] = {}
    while time.monotonic() < deadline:
        for record in read_topic(settings, settings.topic_outcomes):
            seen.setdefault(decode_outcome(record.value).id, record.value)
        if len(seen) >= expected:
            break
        time.sleep(0.5)
    return list(seen.values())


def run_demo(workdir: Path) -> int:
    """Run the demo; returns the process exit code."""
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    print(f"nazorg demo: logs in {workdir}/", flush=True)
    with running_broker(log=workdir / "broker.log") as broker:
        print(f"  broker (Tansu) on {broker.bootstrap}", flush=True)
        stack = LocalStack(
            bootstrap=broker.bootstrap,
            workdir=workdir,
            database_url=f"sqlite:///{(workdir / 'nazorg.db').resolve()}",
        )
        with stack:
            print("  starting ingest, detector, intervention ...", flush=True)
            stack.start()
            events = all_events()
            answer = post_events(stack, as_json_array(events))
            counts = {k: answer[k] for k in ("received", "accepted", "duplicate", "rejected")}
            print(f"  posted {len(events)} events over HTTP: {counts}", flush=True)
            settings = client_settings(broker.bootstrap)
            raw = wait_for_outcomes(settings, EXPECTED_OUTCOMES, WAIT_S)
            print(f"\n  {len(raw)} outcomes on {settings.topic_outcomes}:")
            for outcome in sorted((decode_outcome(r) for r in raw), key=lambda o: o.time):
                data = outcome.data.model_dump(mode="json")
                print(
                    f"    {outcome.time:%Y-%m-%d}  {outcome.subject[:12]}…  {outcome.type:<16}"
                    f"  {data.get('signal_type', '')}  dpd={data.get('dpd', '')}"
                )
            print("\n  stopping services and broker ...", flush=True)
    ok = len(raw) >= EXPECTED_OUTCOMES
    print("nazorg demo: done" if ok else "nazorg demo: FAILED (outcomes missing; see logs)")
    return 0 if ok else 1
