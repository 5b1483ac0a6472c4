//! End-to-end tests of the carrier simulator over real HTTP on ephemeral
//! ports.

mod common;
mod faults;
mod flows;
mod ndr;
mod operations;
mod persistence;
mod properties;
mod validation;
mod webhooks;
