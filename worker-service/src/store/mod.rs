//! I/O with PostgreSQL: the job table ([`postgres`]), the coalescing of
//! concurrent writes into one statement ([`batch`]), the consumers'
//! coalesced claims and results ([`writes`]), waiting for a job's end
//! ([`finishes`]), and watches with their events ([`watches`]).

pub mod batch;
pub mod finishes;
pub mod postgres;
pub mod watches;
pub mod writes;

pub use batch::Batcher;
pub use finishes::Finishes;
pub use postgres::{
    Claim, DbConfig, Draft, Inserted, JobRecord, JobStore, MigrateMode, NewJob, StoreError,
};
pub use watches::WatchStore;
pub use writes::JobWrites;
