"""librdkafka settings shared by the project's consumers."""


def committing_consumer_config(
    *,
    bootstrap_servers,
    group_id,
    client_id,
    session_timeout_ms,
    heartbeat_interval_ms,
    max_poll_interval_ms,
    **extra,
):
    """A consumer that stores and commits its offsets itself, only after the database has
    committed what they cover (never automatically); a new group starts at the earliest offset."""
    return {
        "bootstrap.servers": bootstrap_servers,
        "group.id": group_id,
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",
        "session.timeout.ms": session_timeout_ms,
        "heartbeat.interval.ms": heartbeat_interval_ms,
        "max.poll.interval.ms": max_poll_interval_ms,
        "client.id": client_id,
        **extra,
    }
