-- Customer notifications: the order's language, each tenant's choices (per mode), its own
-- templates, every message with its outcome (one per shipment, milestone and channel), and
-- the recipients who opted out.
ALTER TABLE orders ADD COLUMN locale TEXT;

CREATE TABLE notification_settings (
    tenant_id       TEXT NOT NULL,
    mode            TEXT NOT NULL,
    settings        TEXT NOT NULL,
    sealed_secrets  TEXT,
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, mode)
);

CREATE TABLE notification_templates (
    tenant_id       TEXT NOT NULL,
    mode            TEXT NOT NULL,
    milestone       TEXT NOT NULL,
    channel         TEXT NOT NULL,
    language        TEXT NOT NULL,
    source          TEXT NOT NULL,
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, mode, milestone, channel, language)
);

CREATE TABLE notifications (
    id                  TEXT PRIMARY KEY,
    tenant_id           TEXT NOT NULL,
    mode                TEXT NOT NULL,
    shipment_id         TEXT NOT NULL,
    milestone           TEXT NOT NULL,
    channel             TEXT NOT NULL,
    language            TEXT NOT NULL,
    template            TEXT NOT NULL,
    recipient           TEXT NOT NULL,
    state               TEXT NOT NULL,
    reason              TEXT,
    provider_message_id TEXT,
    attempts            BIGINT NOT NULL,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL,
    UNIQUE (tenant_id, mode, shipment_id, milestone, channel)
);
CREATE INDEX notifications_shipment ON notifications (tenant_id, mode, shipment_id, id);

CREATE TABLE notification_opt_outs (
    tenant_id       TEXT NOT NULL,
    channel         TEXT NOT NULL,
    recipient       TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, channel, recipient)
);
