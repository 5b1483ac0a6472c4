-- An order's cancellation: who cancelled it (the merchant, its channel, its customer) and why.
-- One per order, so a repeated or concurrent cancel answers the first.
CREATE TABLE order_cancellations (
    order_id      TEXT PRIMARY KEY REFERENCES orders(id),
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    mode          TEXT NOT NULL,
    cancelled_by  TEXT NOT NULL,
    reason        TEXT,
    cancelled_at  BIGINT NOT NULL
);

-- Whether a scope's customers may cancel their own orders on the cancellation page (0 or 1).
CREATE TABLE cancellation_settings (
    tenant_id             TEXT NOT NULL,
    mode                  TEXT NOT NULL,
    customers_may_cancel  BIGINT NOT NULL,
    updated_at            BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, mode)
);
