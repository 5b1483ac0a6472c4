-- Merchant webhook endpoints, the events on their way to each (one message per endpoint and
-- event, and one per replay), and the log of every delivery attempt.
CREATE TABLE webhook_endpoints (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL,
    mode            TEXT NOT NULL,
    url             TEXT NOT NULL,
    description     TEXT,
    events          TEXT NOT NULL,
    sealed_secret   TEXT NOT NULL,
    state           TEXT NOT NULL,
    disabled_reason TEXT,
    failing_since   BIGINT,
    deleted_at      BIGINT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX webhook_endpoints_scope ON webhook_endpoints (tenant_id, mode, id);

CREATE TABLE webhook_messages (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL,
    mode            TEXT NOT NULL,
    endpoint_id     TEXT NOT NULL,
    event_id        TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    subject_id      TEXT NOT NULL,
    replay          BIGINT NOT NULL,
    state           TEXT NOT NULL,
    attempts        BIGINT NOT NULL,
    next_attempt_at BIGINT,
    last_error      TEXT,
    -- While an attempt is in flight: no other run sends the message until then.
    sending_until   BIGINT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    UNIQUE (endpoint_id, event_id, replay)
);
-- Messages about one object wait for the earlier ones still pending to the same endpoint.
CREATE INDEX webhook_messages_line ON webhook_messages (endpoint_id, subject_id, state, event_id);

CREATE TABLE webhook_deliveries (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL,
    mode            TEXT NOT NULL,
    endpoint_id     TEXT NOT NULL,
    message_id      TEXT NOT NULL,
    event_id        TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    attempt         BIGINT NOT NULL,
    status_code     BIGINT,
    latency_ms      BIGINT NOT NULL,
    excerpt         TEXT,
    error           TEXT,
    succeeded       BIGINT NOT NULL,
    created_at      BIGINT NOT NULL
);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id);
