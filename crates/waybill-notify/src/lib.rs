//! Telling people about their parcels: customer messages (templates in English, French, Korean
//! and Turkish, rendered at runtime; email over SMTP; SMS over HTTP providers) and signed
//! merchant webhooks. Pure where it can be; every outbound HTTP call goes through
//! `waybill-outbound`.

pub mod email;
pub mod segments;
pub mod sink;
pub mod sms;
pub mod template;
pub mod webhook;
pub mod words;
