-- Waybill's first schema. Times are epoch milliseconds (BIGINT) so both backends sort and
-- compare them the same way; carrier scan times also keep their original text with offset.

CREATE TABLE tenants (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    mode        TEXT NOT NULL,
    key_hash    TEXT NOT NULL UNIQUE,
    hint        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);

CREATE TABLE carrier_accounts (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    carrier       TEXT NOT NULL,
    mode          TEXT NOT NULL,
    description   TEXT,
    base_url      TEXT,
    sealed_secrets TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX carrier_accounts_tenant ON carrier_accounts (tenant_id, id);

CREATE TABLE orders (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    channel      TEXT NOT NULL,
    external_id  TEXT NOT NULL,
    status       TEXT NOT NULL,
    currency     TEXT NOT NULL,
    payment      TEXT NOT NULL,
    ship_to      TEXT NOT NULL,
    line_items   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    UNIQUE (tenant_id, channel, external_id)
);
CREATE INDEX orders_tenant ON orders (tenant_id, id);

CREATE TABLE shipments (
    id                  TEXT PRIMARY KEY,
    tenant_id           TEXT NOT NULL REFERENCES tenants(id),
    order_id            TEXT REFERENCES orders(id),
    carrier_account_id  TEXT NOT NULL REFERENCES carrier_accounts(id),
    carrier             TEXT NOT NULL,
    service             TEXT NOT NULL,
    booking_state       TEXT NOT NULL,
    status              TEXT NOT NULL,
    progress            BIGINT NOT NULL,
    last_scan_at        BIGINT,
    ndr_reason          TEXT,
    tracking_number     TEXT,
    carrier_shipment_id TEXT,
    ship_from           TEXT NOT NULL,
    ship_to             TEXT NOT NULL,
    parcels             TEXT NOT NULL,
    cod                 TEXT,
    charge              TEXT,
    edd                 TEXT,
    routing             TEXT,
    simulate            TEXT,
    reference           TEXT,
    error               TEXT,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL
);
CREATE INDEX shipments_tenant ON shipments (tenant_id, id);
CREATE INDEX shipments_order ON shipments (order_id);
CREATE UNIQUE INDEX shipments_tracking ON shipments (carrier_account_id, tracking_number);
CREATE INDEX shipments_tenant_tracking ON shipments (tenant_id, tracking_number);

-- Label bytes live apart from the shipment row so no list or status query loads them.
CREATE TABLE shipment_documents (
    shipment_id  TEXT NOT NULL REFERENCES shipments(id),
    format       TEXT NOT NULL,
    tenant_id    TEXT NOT NULL,
    bytes        BLOB NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (shipment_id, format)
);

CREATE TABLE tracking_events (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL,
    shipment_id   TEXT NOT NULL REFERENCES shipments(id),
    dedupe_key    TEXT NOT NULL,
    code          TEXT NOT NULL,
    status        TEXT NOT NULL,
    reason_code   TEXT,
    ndr_reason    TEXT,
    description   TEXT NOT NULL,
    location      TEXT,
    occurred_at   TEXT NOT NULL,
    occurred_ms   BIGINT NOT NULL,
    source        TEXT NOT NULL,
    raw           TEXT NOT NULL,
    received_at   BIGINT NOT NULL,
    UNIQUE (shipment_id, dedupe_key)
);
CREATE INDEX tracking_events_shipment ON tracking_events (shipment_id, occurred_ms);

CREATE TABLE idempotency_keys (
    tenant_id     TEXT NOT NULL,
    key           TEXT NOT NULL,
    operation     TEXT NOT NULL,
    request_hash  TEXT NOT NULL,
    resource_id   TEXT,
    state         TEXT NOT NULL,
    response_status BIGINT,
    response_body TEXT,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, key)
);

CREATE TABLE jobs (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT,
    kind          TEXT NOT NULL,
    payload       TEXT NOT NULL,
    unique_key    TEXT UNIQUE,
    run_at        BIGINT NOT NULL,
    attempts      BIGINT NOT NULL DEFAULT 0,
    max_attempts  BIGINT NOT NULL,
    locked_until  BIGINT,
    locked_by     TEXT,
    last_error    TEXT,
    state         TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX jobs_due ON jobs (state, run_at);
