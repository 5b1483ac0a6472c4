-- How each tenant's public tracking page presents the store (one row per tenant, shared by
-- both modes). The logo is kept here so the page never sends a customer's browser elsewhere.
CREATE TABLE branding (
    tenant_id         TEXT PRIMARY KEY,
    slug              TEXT NOT NULL UNIQUE,
    store_name        TEXT NOT NULL,
    logo              BLOB,
    logo_content_type TEXT,
    primary_color     TEXT NOT NULL,
    accent_color      TEXT NOT NULL,
    support_email     TEXT,
    links             TEXT NOT NULL,
    default_language  TEXT NOT NULL,
    updated_at        BIGINT NOT NULL
);

-- The public page finds a parcel by its number alone, across tenants.
CREATE INDEX shipments_tracking_number ON shipments (tracking_number);
