//! I/O with PostgreSQL: the job table ([`postgres`]), the coalescing of
//! concurrent writes into one statement ([`batch`]), and the consumers'
//! coalesced claims and results ([`writes`]).

pub mod batch;
pub mod postgres;
pub mod writes;

pub use batch::Batcher;
pub use postgres::{
    Claim, DbConfig, Draft, Inserted, JobRecord, JobStore, MigrateMode, NewJob, StoreError,
};
pub use writes::JobWrites;
