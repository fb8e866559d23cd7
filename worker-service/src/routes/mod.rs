//! HTTP handlers, one file per resource. Each extracts, parses into domain
//! types, calls [`crate::service::Tasks`] or [`crate::watches::Watches`],
//! and maps the answer.

pub mod health;
pub mod tasks;
pub mod watches;
