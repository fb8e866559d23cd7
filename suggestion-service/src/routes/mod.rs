//! HTTP handlers: `/suggestions` and `/health`.

pub mod health;
pub mod suggestions;
