-- What each channel connection is to be told, or was told, of a SKU's available stock.
CREATE TABLE channel_stock (
    connection_id  TEXT NOT NULL,
    sku            TEXT NOT NULL,
    tenant_id      TEXT NOT NULL REFERENCES tenants(id),
    mode           TEXT NOT NULL,
    -- The number to show (available at the connection's location).
    quantity       BIGINT NOT NULL,
    -- pending (to send), sent, or unknown (the channel has no such SKU: not retried until it changes).
    state          TEXT NOT NULL,
    reason         TEXT,
    updated_at     BIGINT NOT NULL,
    PRIMARY KEY (connection_id, sku)
);
CREATE INDEX channel_stock_pending ON channel_stock (connection_id, state, sku);
