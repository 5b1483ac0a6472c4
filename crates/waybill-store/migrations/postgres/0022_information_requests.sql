-- A carrier's request for one field of a shipment's delivery address (a refused booking, or a
-- scan asking for it), and its answer. At most one open request per shipment.
CREATE TABLE information_requests (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL REFERENCES tenants(id),
    mode             TEXT NOT NULL,
    shipment_id      TEXT NOT NULL REFERENCES shipments(id),
    order_id         TEXT,
    field            TEXT NOT NULL,
    source           TEXT NOT NULL,
    scan_id          TEXT,
    carrier_code     TEXT NOT NULL,
    carrier_message  TEXT NOT NULL,
    state            TEXT NOT NULL,
    raised_at        BIGINT NOT NULL,
    resolution       TEXT,
    withdrawn        TEXT,
    closed_at        BIGINT
);
CREATE UNIQUE INDEX information_requests_one_open ON information_requests (shipment_id) WHERE state = 'open';
CREATE INDEX information_requests_by_state ON information_requests (tenant_id, mode, state, id);
