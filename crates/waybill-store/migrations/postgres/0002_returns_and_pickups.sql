-- Returns (customer → merchant) are shipments like any other, flagged so carriers with a
-- dedicated return product book them through it.
ALTER TABLE shipments ADD COLUMN is_return BIGINT NOT NULL DEFAULT 0;

-- Bookings whose outcome was never recorded are found by a sweep rather than a job per
-- booking; only pending rows are indexed, so the sweep stays cheap.
CREATE INDEX shipments_pending ON shipments (created_at) WHERE booking_state = 'pending';

-- Courier pickups. The row is written before the carrier is asked (status `requested`), so a
-- crash between the two leaves a record to settle, never a pickup Waybill does not know of.
CREATE TABLE pickups (
    id                  TEXT PRIMARY KEY,
    tenant_id           TEXT NOT NULL REFERENCES tenants(id),
    carrier_account_id  TEXT NOT NULL REFERENCES carrier_accounts(id),
    carrier             TEXT NOT NULL,
    status              TEXT NOT NULL,
    confirmation_number TEXT,
    pickup_date         TEXT NOT NULL,
    ready_time          TEXT NOT NULL,
    close_time          TEXT NOT NULL,
    address             TEXT NOT NULL,
    parcels             TEXT NOT NULL,
    shipment_ids        TEXT NOT NULL,
    service             TEXT,
    instructions        TEXT,
    charge              TEXT,
    note                TEXT,
    error               TEXT,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL
);
CREATE INDEX pickups_tenant ON pickups (tenant_id, id);
