"""Keep a busy Faust worker in its consumer group, and let it rejoin when it is dropped anyway.

Busy: with aiokafka's default (no limit), one ``getmany`` hands Faust every record prefetched,
and Faust fetches again only once all of them are in the agent's stream buffer; under a backlog
that took up to 59 s (repro in decision 0007), past ``max_poll_interval``. A bound like the Java
client's default (500) kept it at 1.3 s and 2.0 s in two runs of the same repro.

Why (docs/decisions/0007-end-offsets.md, "Known issue"): aiokafka 0.14.0's
``GroupCoordinator.ensure_active_group`` first revokes the member's partitions and only then
refuses to rejoin while the consumer has not fetched for ``max_poll_interval``
(aio-libs/aiokafka#1187, fix proposed in #1189). Faust stops fetching as soon as partitions are
revoked and resumes only once the rebalance has completed, so the fetcher's idle time only grows
and the worker stays out of its group forever: no assignment, no error, nothing consumed.
It is triggered whenever a worker goes ``max_poll_interval`` without a fetch (a long commit, a full
stream buffer), whatever the broker: aiokafka's heartbeat drops the member, and the rejoin never
comes. Nothing here depends on Tansu.

The workaround: once the revoke callback has returned, rejoin at once. Faust's revoke stops
processing (flow stopped, stream buffers cleared, the event in hand finished, producer flushed),
so nothing is left for the idle check to protect. Revoking as soon as the member is dropped (as
aiokafka already does) rather than waiting for the next poll (aiokafka#1189) also keeps a dropped
worker from going on processing partitions the group has already given to another one: its
fetcher can be tens of seconds behind. After a successful rejoin the idle clock restarts, as the
Java client's poll timer does, so the heartbeat does not drop the member again at once for the
time it spent rebalancing.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Awaitable, Callable
from typing import Any

import aiokafka
import faust
from aiokafka.consumer.group_coordinator import GroupCoordinator
from faust.exceptions import AlreadyConfiguredWarning

log = logging.getLogger(__name__)

# The wrapper relies on private details of ``ensure_active_group`` (``prev_assignment`` is used
# only for the revoke and the idle check; ``SubscriptionState._last_fetch_ended`` is the start
# of the idle time); re-read it before adding a version.
PATCHED_AIOKAFKA_VERSIONS = frozenset({"0.14.0"})

# Records per ``getmany`` when the app sets none: the Java consumer's ``max.poll.records``.
MAX_POLL_RECORDS = 500

ORIGINAL_ENSURE_ACTIVE_GROUP: Callable[[Any, Any, Any], Awaitable[Any]] = (
    GroupCoordinator.ensure_active_group
)


async def ensure_active_group(self: Any, subscription: Any, prev_assignment: Any) -> Any:
    """``GroupCoordinator.ensure_active_group`` without the idle check after the revoke."""
    if self._subscription.subscribed_pattern:
        # Faust never subscribes by pattern; keep aiokafka's code for anyone who does.
        return await ORIGINAL_ENSURE_ACTIVE_GROUP(self, subscription, prev_assignment)
    if not self._performed_join_prepare:
        await self._on_join_prepare(prev_assignment)
        self._performed_join_prepare = True
    # Without a previous assignment aiokafka skips both the revoke (done) and the idle check.
    assignment = await ORIGINAL_ENSURE_ACTIVE_GROUP(self, subscription, None)
    if assignment is not None:
        # Faust could not poll during the rebalance; without this the heartbeat task finds the
        # idle time of the whole rebalance and drops the member again right after it joined.
        # The Java client's poll timer likewise starts afresh with the poll that rejoined.
        self._subscription._last_fetch_ended = time.monotonic()
    return assignment


def install_group_rejoin_fix() -> bool:
    """Patch aiokafka's group coordinator in this process (idempotent); True when in place."""
    if GroupCoordinator.ensure_active_group is ensure_active_group:
        return True
    if aiokafka.__version__ not in PATCHED_AIOKAFKA_VERSIONS:
        log.warning(
            "aiokafka %s is not a version the group rejoin fix was checked against; not "
            "installed (a worker dropped from its group may never rejoin, see decision 0007)",
            aiokafka.__version__,
        )
        return False
    GroupCoordinator.ensure_active_group = ensure_active_group
    return True


def keep_group_membership(app: faust.App) -> None:
    """Bound the records per poll (unless the app set it) and install the rejoin fix."""
    if app.conf.broker_max_poll_records is None:
        # Our own read above is the only use so far (no consumer exists before the worker
        # starts), so Faust's "already used" warning does not apply.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", AlreadyConfiguredWarning)
            app.conf.broker_max_poll_records = MAX_POLL_RECORDS
    install_group_rejoin_fix()
