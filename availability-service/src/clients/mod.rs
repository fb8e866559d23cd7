//! Typed clients for the services this one calls.

pub mod user;

pub use user::{BatchSchedules, UserClient, UserSchedule};
