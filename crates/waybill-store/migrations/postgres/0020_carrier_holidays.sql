-- Days a carrier account's carrier does not deliver on, kept by the merchant: no rescheduled
-- delivery is asked for on them.
CREATE TABLE carrier_holidays (
    carrier_account_id  TEXT NOT NULL REFERENCES carrier_accounts(id),
    tenant_id           TEXT NOT NULL REFERENCES tenants(id),
    mode                TEXT NOT NULL,
    day                 TEXT NOT NULL,
    name                TEXT NOT NULL,
    PRIMARY KEY (carrier_account_id, day)
);
