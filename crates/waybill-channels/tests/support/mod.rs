//! What the channel tests share.

pub mod amazon_schema;
pub mod schema;
