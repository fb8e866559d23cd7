//! Waiting for a job to finish (`GET /tasks/{id}?wait=`) without polling.
//!
//! Every write that finishes a job notifies the schema's channel with the
//! job's id (migration 5, a trigger, so no statement can forget it). One
//! connection per API process listens ([`w2meet_pg::listen`]) and wakes the
//! requests waiting for that job, which then read it once.
//!
//! A waiter never relies on the notification alone: it registers before
//! it reads the job (a finish between the read and the wait still wakes
//! it), every waiter is woken when a listening connection (re)starts
//! (notifications sent while none listened are lost), and each waiter
//! re-reads at least every [`RECHECK_LISTENING`] — every
//! [`RECHECK_UNHEARD`] while no connection listens. A lost notification
//! thus costs a waiter some latency, never a wrong answer: it answers
//! with what the job table holds when it reads.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use uuid::Uuid;

use super::postgres::FINISHED_CHANNEL_SQL;
use super::{DbConfig, JobRecord};

/// How often a waiter re-reads its job while notifications are heard.
pub const RECHECK_LISTENING: Duration = Duration::from_secs(2);

/// How often a waiter re-reads its job while nothing listens.
pub const RECHECK_UNHEARD: Duration = Duration::from_millis(250);

/// The pause before listening again after the connection failed; it
/// doubles while connecting keeps failing, up to [`RELISTEN_MAX`].
const RELISTEN_AFTER: Duration = Duration::from_millis(500);
const RELISTEN_MAX: Duration = Duration::from_secs(5);

/// The listening connection's ping interval.
const PING_EVERY: Duration = Duration::from_secs(10);

/// Who waits for which job, and whether notifications are heard. Cheap to
/// clone.
#[derive(Clone, Default)]
pub struct Finishes {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    /// One `Notify` per job someone waits for, with how many wait.
    waiting: Mutex<HashMap<Uuid, (Arc<Notify>, usize)>>,
    listening: AtomicBool,
    /// Listening connections made so far.
    listens: AtomicU64,
}

impl Finishes {
    /// Whether a connection listens now.
    pub fn listening(&self) -> bool {
        self.inner.listening.load(Ordering::Acquire)
    }

    /// Listening connections made so far (a reconnect adds one).
    pub fn listens(&self) -> u64 {
        self.inner.listens.load(Ordering::Acquire)
    }

    /// Keeps a listening connection to `cfg`'s database up until the
    /// process ends, waking the waiters of each job whose end it hears.
    pub async fn listen_forever(self, cfg: DbConfig) {
        let mut pause = RELISTEN_AFTER;
        loop {
            let before = self.listens();
            let up = self.clone();
            let heard = self.clone();
            let ended = w2meet_pg::listen(
                &cfg,
                FINISHED_CHANNEL_SQL,
                PING_EVERY,
                move || {
                    up.inner.listening.store(true, Ordering::Release);
                    up.inner.listens.fetch_add(1, Ordering::AcqRel);
                    // What finished while nobody listened was not heard.
                    up.wake_all();
                },
                move |payload| {
                    if let Ok(id) = Uuid::parse_str(payload) {
                        heard.wake(id);
                    }
                },
            )
            .await;
            self.inner.listening.store(false, Ordering::Release);
            self.wake_all();
            // A connection that listened starts the pauses over.
            pause = if self.listens() > before {
                RELISTEN_AFTER
            } else {
                (pause * 2).min(RELISTEN_MAX)
            };
            if let Err(e) = ended {
                tracing::warn!(
                    error = &e as &dyn std::error::Error,
                    retry_in_ms = pause.as_millis() as u64,
                    "not listening for finished jobs; waiting requests poll"
                );
            }
            tokio::time::sleep(pause).await;
        }
    }

    /// Reads job `id` with `read` until it is final or `wait` has passed;
    /// the last read. The first read comes after the registration, so a
    /// finish at any point from the call on wakes the wait.
    pub async fn wait<E, F, Fut>(
        &self,
        id: Uuid,
        wait: Duration,
        mut read: F,
    ) -> Result<JobRecord, E>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<JobRecord, E>>,
    {
        let deadline = tokio::time::Instant::now() + wait;
        let waiter = self.register(id);
        loop {
            let woken = waiter.notify.notified();
            tokio::pin!(woken);
            // Registered before the read: a finish from here on wakes it.
            woken.as_mut().enable();
            let job = read().await?;
            let now = tokio::time::Instant::now();
            if job.status.is_final() || now >= deadline {
                return Ok(job);
            }
            let recheck = if self.listening() {
                RECHECK_LISTENING
            } else {
                RECHECK_UNHEARD
            };
            tokio::select! {
                () = woken => {}
                () = tokio::time::sleep_until(deadline.min(now + recheck)) => {}
            }
        }
    }

    fn register(&self, id: Uuid) -> Waiter {
        let mut waiting = self.inner.waiting.lock().expect("waiters lock");
        let entry = waiting.entry(id).or_insert_with(|| (Arc::default(), 0));
        entry.1 += 1;
        Waiter {
            finishes: self.clone(),
            id,
            notify: entry.0.clone(),
        }
    }

    fn wake(&self, id: Uuid) {
        let waiting = self.inner.waiting.lock().expect("waiters lock");
        if let Some((notify, _)) = waiting.get(&id) {
            notify.notify_waiters();
        }
    }

    fn wake_all(&self) {
        let waiting = self.inner.waiting.lock().expect("waiters lock");
        for (notify, _) in waiting.values() {
            notify.notify_waiters();
        }
    }

    /// Jobs someone waits for now (for tests).
    pub fn waited_for(&self) -> usize {
        self.inner.waiting.lock().expect("waiters lock").len()
    }
}

/// One request's registration; dropping it unregisters.
struct Waiter {
    finishes: Finishes,
    id: Uuid,
    notify: Arc<Notify>,
}

impl Drop for Waiter {
    fn drop(&mut self) {
        let mut waiting = self.finishes.inner.waiting.lock().expect("waiters lock");
        if let Some(entry) = waiting.get_mut(&self.id) {
            entry.1 -= 1;
            if entry.1 == 0 {
                waiting.remove(&self.id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registrations_are_counted_and_the_last_one_out_removes_the_entry() {
        let finishes = Finishes::default();
        let id = Uuid::new_v4();
        let a = finishes.register(id);
        let b = finishes.register(id);
        assert!(Arc::ptr_eq(&a.notify, &b.notify), "one Notify per job");
        let other = finishes.register(Uuid::new_v4());
        assert_eq!(finishes.waited_for(), 2);
        drop(a);
        assert_eq!(finishes.waited_for(), 2);
        drop(b);
        assert_eq!(finishes.waited_for(), 1);
        drop(other);
        assert_eq!(finishes.waited_for(), 0);
    }

    #[tokio::test]
    async fn a_wake_reaches_every_registered_waiter_of_that_job_only() {
        let finishes = Finishes::default();
        let (id, other) = (Uuid::new_v4(), Uuid::new_v4());
        let (a, b, c) = (
            finishes.register(id),
            finishes.register(id),
            finishes.register(other),
        );
        let (wa, wb, wc) = (
            a.notify.notified(),
            b.notify.notified(),
            c.notify.notified(),
        );
        tokio::pin!(wa, wb, wc);
        wa.as_mut().enable();
        wb.as_mut().enable();
        wc.as_mut().enable();
        finishes.wake(id);
        let soon = Duration::from_millis(50);
        assert!(tokio::time::timeout(soon, wa).await.is_ok());
        assert!(tokio::time::timeout(soon, wb).await.is_ok());
        assert!(tokio::time::timeout(soon, wc.as_mut()).await.is_err());
        finishes.wake_all();
        assert!(tokio::time::timeout(soon, wc).await.is_ok());
    }
}
