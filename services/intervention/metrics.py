"""Prometheus metrics of the intervention service. Labels are bounded: arm, channel, status,
reason codes, never a client, loan or action id."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

ENROLMENTS = Counter(
    "nazorg_intervention_enrolments_total",
    "Enrolment messages by result (new, same, refused) and arm",
    ["result", "arm"],
)
DECISIONS = Counter(
    "nazorg_intervention_decisions_total",
    "Playbook decisions by arm, channel and status (planned, shadow, suppressed, bank_process)",
    ["arm", "channel", "status"],
)
SUPPRESSIONS = Counter(
    "nazorg_intervention_suppressed_total",
    "Actions the contact policy blocked, by reason",
    ["arm", "reason"],
)
DEFERRALS = Counter(
    "nazorg_intervention_deferred_total",
    "Actions the contact policy postponed (e.g. quiet hours), by reason",
    ["arm", "reason"],
)
DELIVERIES = Counter(
    "nazorg_intervention_deliveries_total",
    "Delivery attempts to Sofie by outcome (delivered, duplicate, retryable, permanent, "
    "circuit_open)",
    ["channel", "outcome"],
)
PARKED = Counter(
    "nazorg_intervention_actions_parked_total",
    "Actions given up after too many failed attempts or a permanent error",
    ["channel"],
)
SOFIE_SECONDS = Histogram(
    "nazorg_intervention_sofie_request_seconds",
    "Latency of calls to Sofie's action API",
    ["outcome"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
OUTBOX_PENDING = Gauge(
    "nazorg_intervention_outbox_pending", "Actions in the outbox not yet delivered"
)
OUTBOX_PARKED = Gauge("nazorg_intervention_outbox_parked", "Actions parked in the outbox")
OUTBOX_OLDEST_AGE = Gauge(
    "nazorg_intervention_outbox_oldest_age_seconds",
    "Age of the oldest undelivered action (0 when the outbox is empty)",
)
BREAKER_OPEN = Gauge(
    "nazorg_intervention_sofie_circuit_open", "1 while the circuit breaker to Sofie is open"
)
RELAYED = Counter(
    "nazorg_intervention_outcomes_relayed_total", "Outcome records published to outcomes.v1"
)
RELAY_PENDING = Gauge(
    "nazorg_intervention_relay_pending", "Outcome records committed in SQL, not yet published"
)
ENGAGEMENTS = Counter(
    "nazorg_intervention_engagements_total",
    "Engagement callbacks from Sofie by result (recorded, duplicate, rejected)",
    ["result"],
)
FOLLOWUPS_CLOSED = Counter(
    "nazorg_intervention_followups_closed_total",
    "Follow-ups closed, by arm and whether censored",
    ["arm", "censored"],
)
EVENT_TIME = Gauge(
    "nazorg_intervention_business_date_seconds",
    "The business day every detector partition has closed, as a Unix time (event time)",
)
DB_RETRIES = Counter(
    "nazorg_intervention_db_retries_total",
    "Database operations retried because the database was unreachable",
    ["operation"],
)
ENROLLED = Gauge(
    "nazorg_pilot_enrolled_clients", "Clients enrolled in the running experiment, by arm", ["arm"]
)
SRM_P_VALUE = Gauge(
    "nazorg_pilot_srm_p_value",
    "Chi-square p-value of the arm sizes against the stored intended allocation (NaN: none)",
)
SRM_FLAGGED = Gauge(
    "nazorg_pilot_srm_flagged",
    "1 when the sample-ratio check fails (p below alpha, or mixed intended allocations)",
)
SIGNALS = Counter(
    "nazorg_intervention_signals_total",
    "Arrears signals of enrolled clients, by arm and signal type (the pilot funnel)",
    ["arm", "type"],
)
OUTCOMES = Counter(
    "nazorg_intervention_outcomes_total",
    "Outcome records published to outcomes.v1, by arm and type (the pilot funnel)",
    ["arm", "type"],
)
