//! Storage: PostgreSQL, the source of truth for meetings and their events.

pub mod postgres;

pub use postgres::{
    Busy, DbConfig, Inserted, MeetingStore, MigrateMode, Pending, RelayError, StoreError, Stored,
    WriteError,
};
