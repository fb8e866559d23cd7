//! I/O with PostgreSQL: the job table ([`postgres`]), and the coalescing of
//! concurrent writes into one statement ([`batch`]).

pub mod batch;
pub mod postgres;

pub use batch::Batcher;
pub use postgres::{
    Claim, DbConfig, Draft, Inserted, JobRecord, JobStore, MigrateMode, NewJob, StoreError,
};
