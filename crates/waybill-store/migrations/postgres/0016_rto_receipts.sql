-- What the merchant found in a parcel returned to the sender: restockable or damaged. One per
-- shipment, so goods are never restocked twice.
CREATE TABLE rto_receipts (
    shipment_id      TEXT PRIMARY KEY REFERENCES shipments(id),
    tenant_id        TEXT NOT NULL REFERENCES tenants(id),
    mode             TEXT NOT NULL,
    condition        TEXT NOT NULL,
    note             TEXT,
    acknowledged_at  BIGINT NOT NULL
);
