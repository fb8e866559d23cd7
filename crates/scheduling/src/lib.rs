//! W2Meet's scheduling core: plain functions over plain data, no async, no I/O.
//!
//! # Layout
//! - [`pattern`]: a user's weekly availability ([`WeeklyPattern`]), parsed from
//!   the API's JSON (hour lists or `"HH:MM-HH:MM"` intervals), normalised to
//!   5-minute bitsets, and echoed back in the form the client used.

pub mod pattern;

pub use pattern::{DayFormat, DaySlots, PatternError, WeeklyPattern};
