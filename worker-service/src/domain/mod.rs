//! Parsed, validated types: what a client submitted ([`Submission`]), a
//! job's state ([`JobStatus`], [`JobView`]), the AMQP message
//! ([`JobMessage`]) and watches ([`watch`]: what changes are events, and
//! how their webhooks are signed).

pub mod job;
pub mod submission;
pub mod watch;

pub use job::{JobKind, JobMessage, JobStatus, JobView};
pub use submission::{Submission, TaskInput};
