//! user-service against the real PostgreSQL and Redis: one schema and one
//! key prefix per test, faults staged with private servers and proxies.

mod auth;
mod bad_input;
mod cache;
mod changes;
mod dated;
mod faults;
mod helpers;
mod levels;
mod near;
mod tls;
mod users;
