//! HTTP handlers: `/availabilities`, `/timelines` and `/health`.

pub mod availabilities;
pub mod health;
pub mod timelines;
