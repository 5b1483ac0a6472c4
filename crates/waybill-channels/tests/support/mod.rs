//! What the channel tests share.

pub mod schema;
