-- Stock per SKU and location, and the ledger of every movement. A shipment moves each of its
-- SKUs once per step (reserve, ship, release, restock): the ledger's key makes a repeat a no-op.
CREATE TABLE inventory_levels (
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    mode         TEXT NOT NULL,
    location_id  TEXT NOT NULL,
    sku          TEXT NOT NULL,
    on_hand      BIGINT NOT NULL,
    reserved     BIGINT NOT NULL DEFAULT 0,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, mode, location_id, sku)
);

CREATE TABLE inventory_movements (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    mode            TEXT NOT NULL,
    location_id     TEXT NOT NULL,
    sku             TEXT NOT NULL,
    on_hand_delta   BIGINT NOT NULL,
    reserved_delta  BIGINT NOT NULL,
    reason          TEXT NOT NULL,
    -- The shipment a step belongs to; NULL for a person's set or adjustment.
    reference       TEXT,
    -- What a person said about an adjustment (received, damaged, found, …).
    note            TEXT,
    created_at      BIGINT NOT NULL
);
CREATE UNIQUE INDEX inventory_movements_step ON inventory_movements (tenant_id, mode, reference, reason, location_id, sku);
CREATE INDEX inventory_movements_sku ON inventory_movements (tenant_id, mode, location_id, sku, id);

ALTER TABLE shipments ADD COLUMN location_id TEXT;
