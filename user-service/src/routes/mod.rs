//! HTTP handlers, one file per resource. Each extracts, parses into domain
//! types, calls [`crate::service::Users`], and maps the answer.

pub mod auth;
pub mod cache_aside;
pub mod freebusy;
pub mod health;
pub mod overrides;
pub mod shares;
pub mod users;
