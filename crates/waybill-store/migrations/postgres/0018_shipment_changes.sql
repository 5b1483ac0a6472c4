-- The audit trail of changes made to booked shipments: what changed (before and after, JSON),
-- how it reached the carrier, and the shipment booked in its place when it was booked again.
CREATE TABLE shipment_changes (
    id                       TEXT PRIMARY KEY,
    tenant_id                TEXT NOT NULL REFERENCES tenants(id),
    mode                     TEXT NOT NULL,
    shipment_id              TEXT NOT NULL REFERENCES shipments(id),
    fields                   TEXT NOT NULL,
    change_values            TEXT NOT NULL,
    method                   TEXT NOT NULL,
    replacement_shipment_id  TEXT,
    note                     TEXT,
    created_at               BIGINT NOT NULL
);
CREATE INDEX shipment_changes_shipment ON shipment_changes (tenant_id, mode, shipment_id, id);
CREATE INDEX shipment_changes_replacement ON shipment_changes (replacement_shipment_id);
