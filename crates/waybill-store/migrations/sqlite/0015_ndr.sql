-- NDR cases: one per shipment, from its first failed delivery to delivered or RTO. `record` is
-- the case (attempts, actions, what the carrier made of them) as JSON; the columns beside it
-- are what lists filter and sort on.
CREATE TABLE ndr_cases (
    id                  TEXT PRIMARY KEY,
    tenant_id           TEXT NOT NULL REFERENCES tenants(id),
    mode                TEXT NOT NULL,
    shipment_id         TEXT NOT NULL REFERENCES shipments(id),
    carrier_account_id  TEXT NOT NULL,
    state               TEXT NOT NULL,
    deadline_at         BIGINT,
    record              TEXT NOT NULL,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL
);
CREATE UNIQUE INDEX ndr_cases_shipment ON ndr_cases (shipment_id);
CREATE INDEX ndr_cases_scope ON ndr_cases (tenant_id, mode, id);

-- A tenant's NDR rules (response window, default action), as JSON.
CREATE TABLE ndr_settings (
    tenant_id   TEXT NOT NULL,
    mode        TEXT NOT NULL,
    settings    TEXT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, mode)
);
