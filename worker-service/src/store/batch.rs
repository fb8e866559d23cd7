//! Coalescing: many concurrent requests, one database round trip.
//!
//! A [`Batcher`] hands items from any number of tasks to a few workers; a
//! worker takes *what is waiting* (at least one item, at most `max`) and
//! runs one operation for all of them. Nothing waits to fill a batch: a lone
//! submit goes at once, and under load the items that arrived while the
//! previous batch ran make the next one. With `workers` > 1 a batch is
//! formed while another is in the database, so the disk's commit latency is
//! overlapped instead of paid per item.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::{Mutex, mpsc, oneshot};

use super::StoreError;

/// How many items may wait for a worker before senders wait too.
const QUEUE: usize = 4096;

type Item<T, R> = (T, Option<oneshot::Sender<R>>);

/// Sends items to the workers. Cheap to clone; the workers stop when the
/// last clone is dropped.
pub struct Batcher<T, R> {
    tx: mpsc::Sender<Item<T, R>>,
}

impl<T, R> Clone for Batcher<T, R> {
    fn clone(&self) -> Self {
        Batcher {
            tx: self.tx.clone(),
        }
    }
}

impl<T: Send + 'static, R: Send + 'static> Batcher<T, R> {
    /// Starts `workers` tasks running `run` on batches of at most `max`
    /// items. `run` returns one result per item, in order.
    pub fn spawn<F, Fut>(workers: usize, max: usize, run: F) -> Batcher<T, R>
    where
        F: Fn(Vec<T>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Vec<R>> + Send,
    {
        let (tx, rx) = mpsc::channel::<Item<T, R>>(QUEUE);
        let rx = Arc::new(Mutex::new(rx));
        let run = Arc::new(run);
        for _ in 0..workers.max(1) {
            let (rx, run) = (rx.clone(), run.clone());
            tokio::spawn(async move {
                let mut taken = Vec::with_capacity(max);
                loop {
                    // The lock is held only while taking a batch.
                    if rx.lock().await.recv_many(&mut taken, max.max(1)).await == 0 {
                        return;
                    }
                    let (items, replies): (Vec<T>, Vec<_>) = taken.drain(..).unzip();
                    let results = run(items).await;
                    for (reply, result) in replies.into_iter().zip(results) {
                        if let Some(reply) = reply {
                            let _ = reply.send(result);
                        }
                    }
                }
            });
        }
        Batcher { tx }
    }

    /// Runs `item` in the next batch and returns its result; `None` if the
    /// workers are gone (the service is stopping).
    pub async fn run(&self, item: T) -> Option<R> {
        let (reply, result) = oneshot::channel();
        self.tx.send((item, Some(reply))).await.ok()?;
        result.await.ok()
    }

    /// Queues `item` without waiting for its batch (waits only while the
    /// queue is full).
    pub async fn send(&self, item: T) {
        let _ = self.tx.send((item, None)).await;
    }
}

/// A batch statement's future, borrowing the batch.
pub type BatchFuture<'a, R> =
    std::pin::Pin<Box<dyn Future<Output = Result<Vec<R>, StoreError>> + Send + 'a>>;

/// Runs `statement` for the whole batch — one round trip, one commit —
/// and gives each item its result. When the database is unavailable every
/// item gets that error; when the statement itself is refused (a query
/// error), each item is tried alone, so one bad row fails only its own
/// request.
pub async fn each_or_alone<T, R, F>(items: &[T], statement: F) -> Vec<Result<R, StoreError>>
where
    F: for<'a> Fn(&'a [T]) -> BatchFuture<'a, R>,
{
    match statement(items).await {
        Ok(results) => results.into_iter().map(Ok).collect(),
        Err(StoreError::Unavailable(e)) => {
            let why = e.to_string();
            items
                .iter()
                .map(|_| Err(StoreError::Unavailable(why.clone().into())))
                .collect()
        }
        Err(e) if items.len() == 1 => vec![Err(e)],
        Err(_) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                out.push(
                    statement(std::slice::from_ref(item))
                        .await
                        .and_then(|mut one| {
                            one.pop().ok_or_else(|| {
                                StoreError::Unavailable("the statement returned nothing".into())
                            })
                        }),
                );
            }
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn concurrent_items_share_batches_and_each_gets_its_own_result() {
        let batches = Arc::new(AtomicUsize::new(0));
        let counted = batches.clone();
        let batcher = Batcher::spawn(1, 64, move |items: Vec<u32>| {
            counted.fetch_add(1, Ordering::SeqCst);
            async move {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                items.into_iter().map(|i| i * 10).collect::<Vec<_>>()
            }
        });
        let calls: Vec<_> = (0..50u32)
            .map(|i| {
                let b = batcher.clone();
                tokio::spawn(async move { (i, b.run(i).await) })
            })
            .collect();
        for call in calls {
            let (i, result) = call.await.unwrap();
            assert_eq!(result, Some(i * 10));
        }
        let n = batches.load(Ordering::SeqCst);
        assert!((1..50).contains(&n), "50 concurrent items took {n} batches");
    }

    #[tokio::test]
    async fn a_batch_never_exceeds_its_maximum() {
        let largest = Arc::new(AtomicUsize::new(0));
        let seen = largest.clone();
        let batcher = Batcher::spawn(2, 4, move |items: Vec<u8>| {
            seen.fetch_max(items.len(), Ordering::SeqCst);
            async move { items }
        });
        let calls: Vec<_> = (0..40u8)
            .map(|i| {
                let b = batcher.clone();
                tokio::spawn(async move { b.run(i).await })
            })
            .collect();
        for call in calls {
            call.await.unwrap().expect("a result");
        }
        assert!(largest.load(Ordering::SeqCst) <= 4);
    }
}
