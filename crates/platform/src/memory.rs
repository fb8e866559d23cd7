//! Giving memory back after large work.
//!
//! glibc's allocator keeps what a program frees in its arenas — one per
//! thread that allocated, so each tokio worker and blocking thread holds its
//! own — and returns to the kernel only what sits at the top of a heap. A
//! 1000-user × 366-day group (13 MB of bitsets) or an Argon2id hash (19 MiB)
//! thus left tens of MB resident for good. [`release_soon`] asks for
//! `malloc_trim(0)`, which hands every free page of every arena back
//! (`madvise`), a moment after the work ([`TRIM_DELAY`], so a burst of large
//! requests trims once, after it), on a thread of its own. One trim waits at
//! a time; asks meanwhile join it. Elsewhere than Linux with glibc it does
//! nothing.
//!
//! Load leaves the same kind of residue: thousands of small requests spread
//! over every worker's arena hold freed pages that no single large request
//! accounts for. Every request is counted ([`note_request`], called by the
//! common metrics layer, and by worker-service's consumers per job); a
//! process that served at least [`LOAD_REQUESTS`] since its last trim and
//! then none for a whole [`IDLE_TICK`] trims once
//! (`memory_trims_total{reason="after_load"}`). A busy process never trims
//! for it, and neither does one serving a request now and then.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::time::Duration;

/// How long after large work the trim runs.
pub const TRIM_DELAY: Duration = Duration::from_millis(250);

/// A group this large (members × days) is large work: the request lays out
/// at least ~13 MB of timelines (1000 × 366 is 73 times more).
pub const LARGE_GROUP: usize = 5_000;

/// How many requests since the last trim count as load (see the module
/// documentation).
pub const LOAD_REQUESTS: u64 = 256;

/// How long a process must have served nothing for its load to be over.
pub const IDLE_TICK: Duration = Duration::from_secs(1);

static TRIMS: AtomicU64 = AtomicU64::new(0);
static IDLE_TRIMS: AtomicU64 = AtomicU64::new(0);
static REQUESTS: AtomicU64 = AtomicU64::new(0);

/// Whether `members × days` is large work (see [`LARGE_GROUP`]).
pub fn is_large_group(members: usize, days: usize) -> bool {
    members.saturating_mul(days) >= LARGE_GROUP
}

/// Trims run by [`release_soon`] in this process so far (also the metric
/// `memory_trims_total`).
pub fn trims() -> u64 {
    TRIMS.load(Ordering::Acquire)
}

/// Trims after load ended (see the module documentation) so far.
pub fn idle_trims() -> u64 {
    IDLE_TRIMS.load(Ordering::Acquire)
}

/// Counts one request served, for the trim after load. One relaxed add.
pub fn note_request() {
    REQUESTS.fetch_add(1, Ordering::Relaxed);
    trimmer();
}

/// Asks for a trim [`TRIM_DELAY`] from now. Never blocks: one request waits
/// at a time, and asking while one waits joins it. The trims run on one
/// thread of their own (started on first use), so no async runtime is
/// needed, and none is held up.
pub fn release_soon() {
    match trimmer().try_send(()) {
        Ok(()) | Err(TrySendError::Full(())) => {}
        // The thread could not be started (see `trimmer`): nothing to do.
        Err(TrySendError::Disconnected(())) => {}
    }
}

fn trimmer() -> &'static SyncSender<()> {
    static TRIMMER: OnceLock<SyncSender<()>> = OnceLock::new();
    TRIMMER.get_or_init(|| {
        let (tx, rx) = mpsc::sync_channel::<()>(1);
        let started = std::thread::Builder::new()
            .name("memory-trim".into())
            .spawn(move || {
                // Requests counted at the last look and at the last trim.
                let mut seen = REQUESTS.load(Ordering::Relaxed);
                let mut at_trim = seen;
                loop {
                    match rx.recv_timeout(IDLE_TICK) {
                        Ok(()) => {
                            std::thread::sleep(TRIM_DELAY);
                            // Asked again meanwhile: this trim covers that too.
                            while rx.try_recv().is_ok() {}
                            record_trim("large_work", &TRIMS);
                            at_trim = REQUESTS.load(Ordering::Relaxed);
                        }
                        Err(mpsc::RecvTimeoutError::Timeout) => {
                            let now = REQUESTS.load(Ordering::Relaxed);
                            if now == seen && now - at_trim >= LOAD_REQUESTS {
                                record_trim("after_load", &IDLE_TRIMS);
                                at_trim = now;
                            }
                            seen = now;
                        }
                        Err(mpsc::RecvTimeoutError::Disconnected) => break,
                    }
                }
            });
        if let Err(e) = started {
            tracing::warn!(error = %e, "no memory-trim thread: freed memory stays with the allocator");
        }
        tx
    })
}

fn record_trim(reason: &'static str, count: &AtomicU64) {
    let released = trim();
    count.fetch_add(1, Ordering::AcqRel);
    metrics::counter!("memory_trims_total", "reason" => reason, "released" => if released { "yes" } else { "no" })
        .increment(1);
}

/// `malloc_trim(0)` now: whether memory was given back.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[expect(
    unsafe_code,
    reason = "glibc's malloc_trim, the workspace's one FFI call"
)]
pub fn trim() -> bool {
    // SAFETY: malloc_trim only walks glibc's own arenas under their locks; it
    // has no precondition on the caller.
    unsafe { libc::malloc_trim(0) != 0 }
}

/// Other allocators keep no such pages (or offer no way to ask): nothing.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn trim() -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_groups_are_members_times_days() {
        assert!(!is_large_group(2, 366));
        assert!(!is_large_group(100, 49));
        assert!(is_large_group(100, 50));
        assert!(is_large_group(1000, 366));
        assert!(is_large_group(usize::MAX, 2));
    }

    #[test]
    fn asks_during_a_wait_join_it_and_later_ones_trim_again() {
        let before = trims();
        for _ in 0..50 {
            release_soon();
        }
        let waited = std::time::Instant::now();
        while trims() == before {
            assert!(waited.elapsed() < TRIM_DELAY * 20, "no trim");
            std::thread::sleep(Duration::from_millis(10));
        }
        // Fifty asks in a burst: one trim (two at most, had the first been
        // taken before the rest arrived) — not fifty.
        std::thread::sleep(TRIM_DELAY * 3);
        let burst = trims() - before;
        assert!((1..=2).contains(&burst), "{burst} trims for one burst");
        release_soon();
        let waited = std::time::Instant::now();
        while trims() == before + burst {
            assert!(
                waited.elapsed() < TRIM_DELAY * 20,
                "no trim for a later ask"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}
