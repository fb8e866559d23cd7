//! HTTP handlers: `/availabilities` and `/health`.

pub mod availabilities;
pub mod health;
