//! Parsed, validated types: what a client submitted ([`Submission`]), a
//! job's state ([`JobStatus`], [`JobView`]) and the AMQP message
//! ([`JobMessage`]).

pub mod job;
pub mod submission;

pub use job::{JobKind, JobMessage, JobStatus, JobView};
pub use submission::{Submission, TaskInput};
