//! Typed clients for the services this one calls.

pub mod availability;

pub use availability::AvailabilityClient;
