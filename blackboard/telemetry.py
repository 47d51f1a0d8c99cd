"""The service's own Prometheus instruments, exported at `GET /metrics`.

How the service itself is doing (request rates and latencies, writes, leases, streams),
not what its agents are doing: population metrics come from the event log
(`blackboard.metrics`). The instruments live in `prometheus_client`'s default registry,
one per process: with several worker processes, each exports its own counts.

Writes are counted once they have succeeded — by whoever ends the unit of work — so a
refused or rolled-back request moves nothing but the request counter.
"""

from prometheus_client import Counter, Gauge, Histogram


def _labelled(name: str, documentation: str, label: str, values: tuple[str, ...]) -> Counter:
    # Every value is exported from the start (at 0): rate() and absent-series alerts then
    # work before the first occurrence, and scrapes before and after compare cleanly.
    counter = Counter(name, documentation, [label])
    for value in values:
        counter.labels(value)
    return counter


HTTP_LABELS = ("method", "route", "status")

HTTP_REQUESTS = Counter(
    "blackboard_http_requests",
    "HTTP requests answered, by method, route template ('unmatched' for none) and status.",
    HTTP_LABELS,
)
HTTP_DURATION = Histogram(
    "blackboard_http_request_duration_seconds",
    "Time from receiving an HTTP request to the end of its response (for streams and "
    "long-polls: until they end), by method, route template and status.",
    HTTP_LABELS,
)
ARTIFACTS_PUBLISHED = Counter(
    "blackboard_artifacts_published",
    "Artifact versions written (each item of a batch counts; idempotent replays do not).",
)
ROLE_CLAIMS = _labelled(
    "blackboard_role_claims",
    "Role claims by outcome: claimed, renewed (claimed again by its holder), or conflict "
    "(refused with RoleTaken).",
    "outcome",
    ("claimed", "renewed", "conflict"),
)
LEASE_EXPIRIES = _labelled(
    "blackboard_lease_expiries",
    "Leases that ran out and were taken back, by kind (role claim or task).",
    "kind",
    ("claim", "task"),
)
TASK_TRANSITIONS = _labelled(
    "blackboard_task_transitions",
    "Task changes made by agents, by outcome: posted, claimed, completed, retried (failed, "
    "back to the pool), failed (for good), abstained (handed back), cancelled (by its "
    "poster). Expired leases are in blackboard_lease_expiries_total.",
    "outcome",
    ("posted", "claimed", "completed", "retried", "failed", "abstained", "cancelled"),
)
SSE_SUBSCRIBERS = Gauge(
    "blackboard_sse_subscribers",
    "Server-Sent Events streams open now (board event streams and agent inboxes).",
)
SSE_DIRECT_WRITES = Counter(
    "blackboard_sse_direct_writes",
    "Writes of new events that board feeds made straight to caught-up stream subscribers "
    "(one per subscriber per batch), without waking the subscriber's task.",
)
SSE_CATCH_UPS = Counter(
    "blackboard_sse_catch_ups",
    "Times a caught-up stream subscriber was left to read on its own: its connection could "
    "not take the next write (a client reading slowly), or more events came at once than "
    "one write holds.",
)
DATABASE_OUTAGES = Counter(
    "blackboard_database_outages",
    "Times this process found the database unavailable (then answered 503 until it was back).",
)
DATABASE_UP = Gauge(
    "blackboard_database_up",
    "1 while this process reaches the database, 0 during an outage.",
)
LISTEN_RECONNECTS = Counter(
    "blackboard_listen_reconnects",
    "Times the LISTEN connection was lost and established again.",
)
CONTROLLER_TURNS = _labelled(
    "blackboard_controller_turns",
    "Controller turns closed, by outcome (model-backed and external agents alike).",
    "outcome",
    ("completed", "abstained", "timed_out", "invalid"),
)
