-- End-of-day manifests: the parcels one carrier account hands over in one close. The entries
-- are a snapshot (JSON) of what was printed; `manifest_shipments` holds each shipment on one
-- manifest at most, so two closes made at once never list the same parcel.
CREATE TABLE manifests (
    id                  TEXT PRIMARY KEY,
    tenant_id           TEXT NOT NULL REFERENCES tenants(id),
    mode                TEXT NOT NULL,
    carrier_account_id  TEXT NOT NULL,
    carrier             TEXT NOT NULL,
    status              TEXT NOT NULL,
    carrier_close       BIGINT NOT NULL,
    carrier_reference   TEXT,
    entries             TEXT NOT NULL,
    error               TEXT,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL,
    closed_at           BIGINT
);
CREATE INDEX manifests_scope ON manifests (tenant_id, mode, id);

CREATE TABLE manifest_shipments (
    shipment_id  TEXT PRIMARY KEY REFERENCES shipments(id),
    manifest_id  TEXT NOT NULL REFERENCES manifests(id)
);

-- The shipments a close looks for: booked and still waiting for their pickup.
CREATE INDEX shipments_awaiting_pickup ON shipments (carrier_account_id, id)
    WHERE booking_state = 'booked' AND status = 'info_received';
