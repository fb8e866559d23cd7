//! Typed clients for the services this one calls.

pub mod user;

pub use user::{UserClient, UserSchedule};
