//! The queues of one job queue `Q`, all durable, all on the default exchange:
//!
//! - `Q`: the jobs. Its dead-letter target is `Q.dead`, so a consumer
//!   rejects an undecodable message (without requeue) and the broker moves
//!   it there atomically, `x-death` headers and all.
//! - `Q.dead`: undecodable messages, kept for a person to inspect.
//! - `Q.retry.{ms}ms`: one delay queue per backoff step. Nobody consumes
//!   them; each has a queue-wide `x-message-ttl` and dead-letters expired
//!   messages back to `Q`. A queue-wide TTL (not per-message) means the head
//!   always expires first, so a long delay never holds up a short one. The
//!   delay is in the name because a queue's arguments cannot change: a new
//!   `JOB_RETRY_BASE_MS` simply makes new queues.

use std::time::Duration;

use lapin::options::QueueDeclareOptions;
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{Channel, Result};

use crate::config::JobConfig;

#[derive(Debug, Clone)]
pub struct Topology {
    main: String,
    dead: String,
    policy: JobConfig,
}

impl Topology {
    pub fn new(queue: &str, policy: JobConfig) -> Topology {
        Topology {
            main: queue.to_owned(),
            dead: format!("{queue}.dead"),
            policy,
        }
    }

    pub fn main(&self) -> &str {
        &self.main
    }

    pub fn dead(&self) -> &str {
        &self.dead
    }

    /// The delay queue that holds a job after failed attempt `attempt`.
    pub fn retry_queue(&self, attempt: u32) -> String {
        retry_name(&self.main, self.policy.retry_delay(attempt))
    }

    /// Every queue name, for cleanup in tests.
    pub fn all_queues(&self) -> Vec<String> {
        let mut names = vec![self.main.clone(), self.dead.clone()];
        for delay in self.delays() {
            let name = retry_name(&self.main, delay);
            if !names.contains(&name) {
                names.push(name);
            }
        }
        names
    }

    fn delays(&self) -> Vec<Duration> {
        let mut delays: Vec<Duration> = (1..self.policy.max_attempts)
            .map(|a| self.policy.retry_delay(a))
            .collect();
        delays.dedup();
        delays
    }

    /// Declares every queue (idempotent when the arguments match).
    pub async fn declare(&self, channel: &Channel) -> Result<()> {
        let durable = QueueDeclareOptions {
            durable: true,
            ..QueueDeclareOptions::default()
        };
        channel
            .queue_declare(self.dead.as_str().into(), durable, FieldTable::default())
            .await?;
        channel
            .queue_declare(self.main.as_str().into(), durable, self.main_args())
            .await?;
        for delay in self.delays() {
            let mut args = FieldTable::default();
            args.insert(
                "x-message-ttl".into(),
                AMQPValue::LongLongInt(delay.as_millis() as i64),
            );
            args.insert("x-dead-letter-exchange".into(), long_string(""));
            args.insert("x-dead-letter-routing-key".into(), long_string(&self.main));
            channel
                .queue_declare(retry_name(&self.main, delay).as_str().into(), durable, args)
                .await?;
        }
        Ok(())
    }

    fn main_args(&self) -> FieldTable {
        let mut args = FieldTable::default();
        args.insert("x-dead-letter-exchange".into(), long_string(""));
        args.insert("x-dead-letter-routing-key".into(), long_string(&self.dead));
        args
    }

    /// Ready messages in the main and dead-letter queues (a redeclare with
    /// the same arguments reports the counts).
    pub async fn depths(&self, channel: &Channel) -> Result<(u32, u32)> {
        let durable = QueueDeclareOptions {
            durable: true,
            ..QueueDeclareOptions::default()
        };
        let main = channel
            .queue_declare(self.main.as_str().into(), durable, self.main_args())
            .await?;
        let dead = channel
            .queue_declare(self.dead.as_str().into(), durable, FieldTable::default())
            .await?;
        Ok((main.message_count(), dead.message_count()))
    }
}

fn retry_name(main: &str, delay: Duration) -> String {
    format!("{main}.retry.{}ms", delay.as_millis())
}

fn long_string(s: &str) -> AMQPValue {
    AMQPValue::LongString(LongString::from(s))
}

/// A header name.
pub fn short(s: &str) -> ShortString {
    ShortString::from(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_queues_are_named_by_their_delay_and_shared_once_capped() {
        let t = Topology::new(
            "jobs",
            JobConfig {
                max_attempts: 6,
                retry_base: Duration::from_millis(100),
                retry_max: Duration::from_millis(400),
            },
        );
        assert_eq!(t.retry_queue(1), "jobs.retry.100ms");
        assert_eq!(t.retry_queue(3), "jobs.retry.400ms");
        assert_eq!(
            t.all_queues(),
            [
                "jobs",
                "jobs.dead",
                "jobs.retry.100ms",
                "jobs.retry.200ms",
                "jobs.retry.400ms"
            ]
        );
    }
}
