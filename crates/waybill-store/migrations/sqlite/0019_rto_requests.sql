-- A merchant's request to bring a moving parcel back: through the carrier's API, or marked for
-- a person to ask the carrier. One per shipment, so the carrier is asked once.
CREATE TABLE rto_requests (
    shipment_id   TEXT PRIMARY KEY REFERENCES shipments(id),
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    mode          TEXT NOT NULL,
    via           TEXT NOT NULL,
    reason        TEXT,
    requested_at  BIGINT NOT NULL
);
