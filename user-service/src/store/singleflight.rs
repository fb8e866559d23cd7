//! Coalesces concurrent loads of one key in one process: the first caller
//! starts the load, every caller (the first too) awaits its result. The load
//! runs in a task of its own, so it finishes — and releases what it holds,
//! such as a pooled connection — even when every caller has gone away (a
//! client disconnect, a request timeout). An entry lives exactly as long as
//! its load runs: a caller that arrives after it finished starts a new load.
//! Which loads may be shared is the caller's choice of key.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use tracing::Instrument;

type Flights<K, V> = HashMap<K, (u64, Shared<BoxFuture<'static, V>>)>;

pub struct SingleFlight<K, V: Clone> {
    flights: Arc<Mutex<Flights<K, V>>>,
    /// Tells a finishing load whether the entry under its key is still its
    /// own (it may have been forgotten and replaced).
    next_id: AtomicU64,
    /// Callers that joined a running load instead of starting one.
    joined: AtomicU64,
}

impl<K, V> Default for SingleFlight<K, V>
where
    V: Clone,
{
    fn default() -> Self {
        Self {
            flights: Arc::default(),
            next_id: AtomicU64::new(0),
            joined: AtomicU64::new(0),
        }
    }
}

/// Removes a flight's entry when its load ends — unless the entry was
/// forgotten and replaced by a newer flight meanwhile.
struct Deregister<K: Hash + Eq, V: Clone> {
    flights: Arc<Mutex<Flights<K, V>>>,
    key: K,
    id: u64,
}

impl<K: Hash + Eq, V: Clone> Drop for Deregister<K, V> {
    fn drop(&mut self) {
        // A poisoned lock means another thread panicked mid-update; the map
        // itself is still consistent for a removal.
        let mut flights = self
            .flights
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if flights.get(&self.key).is_some_and(|(i, _)| *i == self.id) {
            flights.remove(&self.key);
        }
    }
}

impl<K, V> SingleFlight<K, V>
where
    K: Hash + Eq + Clone + Send + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// Runs `load` unless a load for `key` is already running, in which case
    /// waits for that one. `on_panic` stands in for the result of a load that
    /// panicked.
    pub async fn run<F>(&self, key: K, load: impl FnOnce() -> F, on_panic: fn() -> V) -> V
    where
        F: Future<Output = V> + Send + 'static,
    {
        let flight = {
            let mut flights = self.flights.lock().expect("singleflight lock poisoned");
            match flights.get(&key) {
                Some((_, f)) => {
                    self.joined.fetch_add(1, Ordering::Relaxed);
                    f.clone()
                }
                None => {
                    let id = self.next_id.fetch_add(1, Ordering::Relaxed);
                    let deregister = Deregister {
                        flights: Arc::clone(&self.flights),
                        key: key.clone(),
                        id,
                    };
                    let fut = load();
                    let task = tokio::spawn(
                        async move {
                            // Dropped when the load ends, by return or panic.
                            let _deregister = deregister;
                            fut.await
                        }
                        .in_current_span(),
                    );
                    let f = task
                        .map(move |r| r.unwrap_or_else(|_| on_panic()))
                        .boxed()
                        .shared();
                    flights.insert(key, (id, f.clone()));
                    f
                }
            }
        };
        flight.await
    }

    /// Callers so far that joined a running load.
    pub fn joined(&self) -> u64 {
        self.joined.load(Ordering::Relaxed)
    }

    /// Stops new callers from joining loads whose key matches: used after a
    /// local write, whose effect those loads may not have seen.
    pub fn forget(&self, matches: impl Fn(&K) -> bool) {
        self.flights
            .lock()
            .expect("singleflight lock poisoned")
            .retain(|k, _| !matches(k));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;
    use std::time::Duration;

    #[tokio::test]
    async fn concurrent_callers_share_one_load() {
        let sf: Arc<SingleFlight<&str, u32>> = Arc::default();
        let loads = Arc::new(AtomicU32::new(0));
        let calls = (0..20).map(|_| {
            let sf = sf.clone();
            let loads = loads.clone();
            tokio::spawn(async move {
                sf.run(
                    "k",
                    || async move {
                        loads.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        7
                    },
                    || 0,
                )
                .await
            })
        });
        for r in futures::future::join_all(calls).await {
            assert_eq!(r.unwrap(), 7);
        }
        assert_eq!(loads.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_caller_after_the_load_finished_starts_a_new_one() {
        let sf: SingleFlight<&str, u32> = SingleFlight::default();
        assert_eq!(sf.run("k", || async { 1 }, || 0).await, 1);
        assert_eq!(sf.run("k", || async { 2 }, || 0).await, 2);
    }

    #[tokio::test]
    async fn forgotten_loads_are_not_joined() {
        let sf: Arc<SingleFlight<&str, u32>> = Arc::default();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let first = {
            let sf = sf.clone();
            tokio::spawn(async move {
                sf.run(
                    "k",
                    || async move {
                        let _ = rx.await;
                        1
                    },
                    || 0,
                )
                .await
            })
        };
        tokio::task::yield_now().await;
        while sf.flights.lock().unwrap().is_empty() {
            tokio::task::yield_now().await;
        }
        sf.forget(|k| *k == "k");
        assert_eq!(sf.run("k", || async { 2 }, || 0).await, 2);
        tx.send(()).unwrap();
        assert_eq!(first.await.unwrap(), 1);
    }

    #[tokio::test]
    async fn a_load_whose_callers_all_left_still_finishes_and_deregisters() {
        let sf: Arc<SingleFlight<&str, u32>> = Arc::default();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
        let caller = {
            let sf = sf.clone();
            tokio::spawn(async move {
                sf.run(
                    "k",
                    || async move {
                        let _ = rx.await;
                        let _ = done_tx.send(());
                        1
                    },
                    || 0,
                )
                .await
            })
        };
        while sf.flights.lock().unwrap().is_empty() {
            tokio::task::yield_now().await;
        }
        caller.abort();
        let _ = caller.await;
        tx.send(()).unwrap();
        done_rx
            .await
            .expect("the load ran to the end without any caller");
        while !sf.flights.lock().unwrap().is_empty() {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn a_panicking_load_gives_the_stand_in_result() {
        let sf: SingleFlight<&str, u32> = SingleFlight::default();
        assert_eq!(sf.run("k", || async { panic!("bug") }, || 99).await, 99);
        assert_eq!(
            sf.run("k", || async { 3 }, || 99).await,
            3,
            "and is not left registered"
        );
    }
}
