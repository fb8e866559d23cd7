//! worker-service against the real PostgreSQL and RabbitMQ: one schema and
//! one queue name per test; stub suggestion-services on ephemeral ports;
//! consumers in-process or as child processes of the built binary (to kill
//! them); a private RabbitMQ node for the broker restart.

mod booking;
mod faults;
mod helpers;
mod jobs;
mod submit;
mod tls;
mod waits;
mod watches;
mod writes;
