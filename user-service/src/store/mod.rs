//! I/O: PostgreSQL ([`postgres`] for users, [`accounts`] for credentials,
//! refresh tokens and sharing), the Redis cache ([`cache`]), login rate
//! limits in Redis ([`limits`]), the per-process near cache in front of
//! Redis ([`near`]), and the per-process coalescing of
//! concurrent loads ([`singleflight`]).

pub mod accounts;
pub mod cache;
pub mod limits;
pub mod near;
pub mod postgres;
pub mod singleflight;

pub use accounts::{AccountStore, Credentials, NewRefresh, Registered, Rotation};
pub use cache::{Cache, CacheConfig, Lookup};
pub use near::{NearCache, NearConfig};
pub use postgres::{
    Authorize, DbConfig, Deleted, Inserted, MigrateMode, Replaced, StoreError, UserStore,
};
pub use singleflight::SingleFlight;
