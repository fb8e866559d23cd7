//! I/O: PostgreSQL ([`postgres`]), the Redis cache ([`cache`]), and the
//! per-process coalescing of concurrent loads ([`singleflight`]).

pub mod cache;
pub mod postgres;
pub mod singleflight;

pub use cache::{Cache, CacheConfig, Lookup};
pub use postgres::{DbConfig, Inserted, Replaced, StoreError, UserStore};
pub use singleflight::SingleFlight;
