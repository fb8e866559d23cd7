//! meeting-service against the real PostgreSQL and RabbitMQ, behind a real
//! user-service: one schema per service per test, one exchange per test
//! (with a queue of the test's own bound to it to watch the events).

mod booking;
mod calendars;
mod events;
mod helpers;
mod invites;
