-- Sales channels: connections (credentials sealed), every payload a channel sent or a sync
-- fetched (kept for support, imported by a job), and what each shipment has shown the channel.
CREATE TABLE channel_connections (
    id                 TEXT PRIMARY KEY,
    tenant_id          TEXT NOT NULL REFERENCES tenants(id),
    mode               TEXT NOT NULL,
    channel            TEXT NOT NULL,
    name               TEXT NOT NULL,
    base_url           TEXT,
    settings           TEXT NOT NULL,
    sealed_credentials TEXT NOT NULL,
    sync_cursor        TEXT,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL
);
CREATE INDEX channel_connections_tenant ON channel_connections (tenant_id, mode, id);

CREATE TABLE channel_imports (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    mode          TEXT NOT NULL,
    connection_id TEXT NOT NULL,
    topic         TEXT NOT NULL,
    -- The channel's id of the delivery (or, for a sync, the order and its change time): a
    -- repeat is dropped on arrival.
    delivery_key  TEXT,
    payload       BLOB NOT NULL,
    external_id   TEXT,
    status        TEXT NOT NULL,
    reason        TEXT,
    order_id      TEXT,
    received_at   BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE UNIQUE INDEX channel_imports_delivery ON channel_imports (connection_id, delivery_key);
CREATE INDEX channel_imports_tenant ON channel_imports (tenant_id, mode, id);
CREATE INDEX channel_imports_status ON channel_imports (tenant_id, mode, status, id);

CREATE TABLE channel_fulfilments (
    shipment_id    TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants(id),
    mode           TEXT NOT NULL,
    connection_id  TEXT NOT NULL,
    -- The channel's id of the fulfilment, once it exists.
    fulfilment_ref TEXT,
    -- The newest progress step the channel shows (a Waybill tracking status).
    shown_status   TEXT,
    updated_at     BIGINT NOT NULL
);

ALTER TABLE orders ADD COLUMN connection_id TEXT;
ALTER TABLE orders ADD COLUMN number TEXT;
ALTER TABLE orders ADD COLUMN channel_updated_at BIGINT;
ALTER TABLE shipments ADD COLUMN channel_connection_id TEXT;

-- A job queued under the key of a job that is running makes that job run once more when it
-- ends (for jobs that bring a channel up to date: the run in progress may have read too early).
ALTER TABLE jobs ADD COLUMN again BIGINT NOT NULL DEFAULT 0;
