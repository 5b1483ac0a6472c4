-- An order shipped in parts: the SKUs and quantities each shipment holds (JSON; NULL for a
-- shipment without an order, or one from before, which holds its whole order).
ALTER TABLE shipments ADD COLUMN lines TEXT;
-- The carrier and tracking number a marketplace assigned to the order (JSON), when it did.
ALTER TABLE orders ADD COLUMN assigned_shipping TEXT;
