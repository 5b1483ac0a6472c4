-- Test and live are kept apart: every order, shipment, pickup and idempotency key carries the
-- mode of the key that made it. Existing rows take their carrier account's mode; orders take
-- their first shipment's, else the tenant's only key mode, else test.
ALTER TABLE shipments ADD COLUMN mode TEXT NOT NULL DEFAULT 'test';
UPDATE shipments SET mode = (SELECT a.mode FROM carrier_accounts a WHERE a.id = shipments.carrier_account_id);

ALTER TABLE pickups ADD COLUMN mode TEXT NOT NULL DEFAULT 'test';
UPDATE pickups SET mode = (SELECT a.mode FROM carrier_accounts a WHERE a.id = pickups.carrier_account_id);

ALTER TABLE orders ADD COLUMN mode TEXT NOT NULL DEFAULT 'test';
UPDATE orders SET mode = COALESCE(
    (SELECT s.mode FROM shipments s WHERE s.order_id = orders.id ORDER BY s.id LIMIT 1),
    (SELECT CASE WHEN MIN(k.mode) = MAX(k.mode) THEN MIN(k.mode) END FROM api_keys k WHERE k.tenant_id = orders.tenant_id),
    'test');
-- The same shop order may exist once in test and once in live.
ALTER TABLE orders DROP CONSTRAINT orders_tenant_id_channel_external_id_key;
ALTER TABLE orders ADD CONSTRAINT orders_external UNIQUE (tenant_id, mode, channel, external_id);
DROP INDEX orders_tenant;
CREATE INDEX orders_scope ON orders (tenant_id, mode, id);
DROP INDEX shipments_tenant;
CREATE INDEX shipments_scope ON shipments (tenant_id, mode, id);
CREATE INDEX shipments_scope_booking ON shipments (tenant_id, mode, booking_state, id);
DROP INDEX pickups_tenant;
CREATE INDEX pickups_scope ON pickups (tenant_id, mode, id);

-- Idempotency keys are scoped per tenant and mode, and remember which node holds them.
ALTER TABLE idempotency_keys ADD COLUMN mode TEXT NOT NULL DEFAULT 'test';
UPDATE idempotency_keys SET mode = COALESCE(
    (SELECT s.mode FROM shipments s WHERE s.id = idempotency_keys.resource_id),
    (SELECT p.mode FROM pickups p WHERE p.id = idempotency_keys.resource_id),
    'test');
ALTER TABLE idempotency_keys ADD COLUMN node_id TEXT;
ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_pkey;
ALTER TABLE idempotency_keys ADD PRIMARY KEY (tenant_id, mode, key);

-- A booking in flight names the node making it, so a node that starts can settle at once
-- the bookings of nodes that are gone.
ALTER TABLE shipments ADD COLUMN node_id TEXT;
CREATE TABLE nodes (
    id            TEXT PRIMARY KEY,
    started_at    BIGINT NOT NULL,
    heartbeat_at  BIGINT NOT NULL
);

-- Carrier accounts say when they last changed, so cached credentials are checked cheaply.
ALTER TABLE carrier_accounts ADD COLUMN updated_at BIGINT NOT NULL DEFAULT 0;
UPDATE carrier_accounts SET updated_at = created_at;

-- Typed events, written with the change they describe; consumers get one job each.
CREATE TABLE events (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    mode        TEXT NOT NULL,
    kind        TEXT NOT NULL,
    subject_id  TEXT NOT NULL,
    payload     TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX events_subject ON events (tenant_id, subject_id, id);

-- Jobs carry the mode they act in and the lease token that fences their settling.
ALTER TABLE jobs ADD COLUMN mode TEXT;
ALTER TABLE jobs ADD COLUMN lease TEXT;
UPDATE jobs SET mode = COALESCE(
    (SELECT s.mode FROM shipments s WHERE s.id = (jobs.payload::json ->> 'shipment_id')),
    (SELECT o.mode FROM orders o WHERE o.id = (jobs.payload::json ->> 'order_id')));
