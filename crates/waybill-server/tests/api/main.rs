//! Waybill's API end to end, over real HTTP against the carrier simulator, on SQLite or (with
//! `WAYBILL_TEST_DATABASE_URL`) PostgreSQL.

mod browser;
mod carrier_roundtrip;
mod changes;
mod channels;
mod common;
mod docs;
mod flows;
mod generic;
mod hardening;
mod hostile;
mod idempotency;
mod information_requests;
mod inventory;
mod locations;
mod manifests;
mod marketplaces;
mod modes;
mod ndr;
mod notifications;
mod operations;
mod order_cancellation;
mod orders_import;
mod reliability;
mod roundtrip_global;
mod roundtrip_regional;
mod rto_requests;
mod strict;
mod tracking_page;
mod validation;
mod webhooks;
