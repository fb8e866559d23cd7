//! I/O with PostgreSQL: the job table ([`postgres`]).

pub mod postgres;

pub use postgres::{
    Claim, DbConfig, Inserted, JobRecord, JobStore, MigrateMode, NewJob, StoreError,
};
