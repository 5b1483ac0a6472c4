-- Generic (no-API) carriers: the tenant's description of its carrier (JSON, shown by the API,
-- not secret) and, for accounts that hand out numbers from a range, the next free number.
-- The counter is its own column so one UPDATE can take a number atomically on any node.
ALTER TABLE carrier_accounts ADD COLUMN settings TEXT;
ALTER TABLE carrier_accounts ADD COLUMN next_number BIGINT;
