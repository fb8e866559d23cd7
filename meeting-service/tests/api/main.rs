//! meeting-service against the real PostgreSQL and RabbitMQ, behind a real
//! user-service: one schema per service per test, one exchange per test
//! (with a queue of the test's own bound to it to watch the events).
//!
//! Tests run on a multi-threaded runtime: the services' background tasks
//! (the outbox relay, user-service's event consumer) may hold a database
//! transaction when a test ends, and dropping the test's schema waits for
//! it — on a single thread that wait would block the very task it waits for.

mod booking;
mod calendars;
mod events;
mod helpers;
mod invites;
