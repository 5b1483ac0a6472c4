-- Locations: the warehouses and stores a tenant ships from; at most one default per scope.
CREATE TABLE locations (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    mode        TEXT NOT NULL,
    name        TEXT NOT NULL,
    address     TEXT NOT NULL,
    is_default  BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX locations_scope ON locations (tenant_id, mode, id);
