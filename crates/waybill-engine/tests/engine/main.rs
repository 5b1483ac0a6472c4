//! The engine's workflows driven directly, with an in-process carrier double instead of HTTP,
//! and the job queue drained by hand instead of waited on. Every test runs on SQLite and, when
//! `WAYBILL_TEST_DATABASE_URL` names a server, on PostgreSQL too.

mod booking;
mod common;
mod tracking;
