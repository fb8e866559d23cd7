//! Typed clients for the services this one calls.

pub mod users;

pub use users::UserClient;
