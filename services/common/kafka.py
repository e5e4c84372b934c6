"""Kafka plumbing shared by the services: topic creation, producers, consumers (kafka-python).

Producers are idempotent with acks=all; consumers commit manually. Transactions are not used:
the design is at-least-once with deterministic ids and idempotent consumers (broker.md).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Iterator
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import TopicAlreadyExistsError

from services.common.settings import CommonSettings

log = logging.getLogger(__name__)


def client_kwargs(settings: CommonSettings) -> dict[str, Any]:
    """Connection options common to every kafka-python client."""
    kwargs: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap_list,
        "security_protocol": settings.kafka_security_protocol,
    }
    if settings.kafka_sasl_mechanism:
        kwargs["sasl_mechanism"] = settings.kafka_sasl_mechanism
        kwargs["sasl_plain_username"] = settings.kafka_sasl_username
        if settings.kafka_sasl_password is not None:
            kwargs["sasl_plain_password"] = settings.kafka_sasl_password.get_secret_value()
    return kwargs


def all_topics(settings: CommonSettings) -> list[str]:
    return [
        settings.topic_inbound,
        settings.topic_payment_events,
        settings.topic_dlq,
        settings.topic_signals,
        settings.topic_enrolments,
        settings.topic_preferences,
        settings.topic_outcomes,
    ]


def ensure_topics(settings: CommonSettings, names: Iterable[str] | None = None) -> list[str]:
    """Create the topics that do not exist yet; returns the names it created.

    In production topics are usually created by the platform team; ``create_topics=false``
    turns this off.
    """
    wanted = list(names) if names is not None else all_topics(settings)
    if not settings.create_topics:
        return []
    admin = KafkaAdminClient(client_id="nazorg-admin", **client_kwargs(settings))
    try:
        existing = set(admin.list_topics())
        missing = [n for n in wanted if n not in existing]
        created: list[str] = []
        for name in missing:
            topic = NewTopic(
                name=name,
                num_partitions=settings.topic_partitions,
                replication_factor=settings.topic_replication_factor,
            )
            try:
                admin.create_topics([topic])
                created.append(name)
            except TopicAlreadyExistsError:
                log.info("topic already exists", extra={"topic": name})
        return created
    finally:
        admin.close()


def make_producer(settings: CommonSettings, **overrides: Any) -> KafkaProducer:
    """An idempotent acks=all producer that batches; values and keys are bytes."""
    options: dict[str, Any] = {
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": 5,
        "max_in_flight_requests_per_connection": 5,
        "retries": 2_147_483_647,
        "delivery_timeout_ms": 30_000,
        "request_timeout_ms": 10_000,
        "client_id": "nazorg",
    }
    options.update(client_kwargs(settings))
    options.update(overrides)
    return KafkaProducer(**options)


def make_consumer(
    settings: CommonSettings, group_id: str | None, *topics: str, **overrides: Any
) -> KafkaConsumer:
    """A manually committing consumer using the configured group timeouts."""
    options: dict[str, Any] = {
        "group_id": group_id,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "session_timeout_ms": int(settings.consumer_session_timeout_s * 1000),
        "heartbeat_interval_ms": int(settings.consumer_heartbeat_interval_s * 1000),
        "max_poll_interval_ms": int(settings.consumer_max_poll_interval_s * 1000),
        "client_id": "nazorg",
    }
    if settings.kafka_fetch_max_wait_ms is not None:
        options["fetch_max_wait_ms"] = settings.kafka_fetch_max_wait_ms
    options.update(client_kwargs(settings))
    options.update(overrides)
    return KafkaConsumer(*topics, **options)


def partitions_for(settings: CommonSettings, topic: str) -> list[int]:
    """The partition ids of a topic, as the broker reports them."""
    consumer = KafkaConsumer(**client_kwargs(settings))
    try:
        found = consumer.partitions_for_topic(topic)
        return sorted(found or [])
    finally:
        consumer.close()


def iter_to_end(
    settings: CommonSettings, topic: str, timeout_s: float = 30.0, **overrides: Any
) -> Iterator[ConsumerRecord]:
    """Every record of a topic up to its end as first seen, without a consumer group.

    "The end" is the high watermark of each partition's first fetch response, not the broker's
    ListOffsets answer: Tansu 0.6 answers ListOffsets(latest) with the last batch's base offset
    plus one (docs/decisions/0007-end-offsets.md). Raises TimeoutError if the end is not reached.
    """
    consumer = KafkaConsumer(enable_auto_commit=False, **{**client_kwargs(settings), **overrides})
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or []]
        if not partitions:
            return
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        end: dict[TopicPartition, int] = {}
        deadline = time.monotonic() + timeout_s
        while len(end) < len(partitions) or any(consumer.position(tp) < end[tp] for tp in end):
            if time.monotonic() > deadline:
                raise TimeoutError(f"did not reach the end of {topic} in {timeout_s}s")
            batches = consumer.poll(timeout_ms=200)
            for tp in partitions:
                highwater = consumer.highwater(tp)
                if tp not in end and highwater is not None:
                    end[tp] = highwater
            for tp, records in batches.items():
                for record in records:
                    if tp not in end or record.offset < end[tp]:
                        yield record
    finally:
        consumer.close()


def read_topic(
    settings: CommonSettings, topic: str, timeout_s: float = 30.0
) -> list[ConsumerRecord]:
    """Every record currently on a topic (tests, demo, tools)."""
    return list(iter_to_end(settings, topic, timeout_s))


def publish_canonical(settings: CommonSettings, events: Iterable[dict[str, Any]]) -> int:
    """Write canonical payment events straight to the events topic, as ingest would.

    For tests, benchmarks and tools that bypass ingest on purpose: loan events keyed by loan id,
    ``business_day_closed`` (no loan id) copied to every partition. Returns the records written.
    """
    producer = make_producer(settings)
    topic = settings.topic_payment_events
    try:
        partitions = sorted(producer.partitions_for(topic) or [])
        written = 0
        for event in events:
            value = json.dumps(event, separators=(",", ":")).encode()
            loan_id = event["data"].get("loan_id")
            if loan_id is not None:
                producer.send(topic, key=loan_id.encode(), value=value)
                written += 1
            else:
                for partition in partitions:
                    producer.send(topic, value=value, partition=partition)
                written += len(partitions)
        producer.flush()
        return written
    finally:
        producer.close()
