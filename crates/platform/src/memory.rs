//! Giving memory back after large work.
//!
//! glibc's allocator keeps what a program frees in its arenas — one per
//! thread that allocated, so each tokio worker and blocking thread holds its
//! own — and returns to the kernel only what sits at the top of a heap. A
//! 1000-user × 366-day group (13 MB of bitsets) or an Argon2id hash (19 MiB)
//! thus left tens of MB resident for good. [`release_soon`] asks for
//! `malloc_trim(0)`, which hands every free page of every arena back
//! (`madvise`), a moment after the work ([`TRIM_DELAY`], so a burst of large
//! requests trims once, after it), on a blocking thread. One trim is pending
//! at a time; calls meanwhile join it. Elsewhere than Linux with glibc it
//! does nothing.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// How long after large work the trim runs.
pub const TRIM_DELAY: Duration = Duration::from_millis(250);

/// A group this large (members × days) is large work: the request lays out
/// at least ~13 MB of timelines (1000 × 366 is 73 times more).
pub const LARGE_GROUP: usize = 5_000;

static PENDING: AtomicBool = AtomicBool::new(false);
static TRIMS: AtomicU64 = AtomicU64::new(0);

/// Trims run by [`release_soon`] in this process so far (also the metric
/// `memory_trims_total`).
pub fn trims() -> u64 {
    TRIMS.load(Ordering::Acquire)
}

/// Whether `members × days` is large work (see [`LARGE_GROUP`]).
pub fn is_large_group(members: usize, days: usize) -> bool {
    members.saturating_mul(days) >= LARGE_GROUP
}

/// Trims the allocator [`TRIM_DELAY`] from now (needs a tokio runtime;
/// without one, or with a trim already pending, nothing more is done).
pub fn release_soon() {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    if PENDING.swap(true, Ordering::AcqRel) {
        return;
    }
    runtime.spawn(async {
        tokio::time::sleep(TRIM_DELAY).await;
        // Cleared first: work that ends while this trim runs asks for another.
        PENDING.store(false, Ordering::Release);
        if let Ok(released) = tokio::task::spawn_blocking(trim).await {
            TRIMS.fetch_add(1, Ordering::AcqRel);
            metrics::counter!("memory_trims_total", "released" => if released { "yes" } else { "no" })
                .increment(1);
        }
    });
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

    #[tokio::test]
    async fn calls_during_a_pending_trim_join_it() {
        release_soon();
        assert!(PENDING.load(Ordering::Acquire));
        release_soon();
        release_soon();
        tokio::time::sleep(TRIM_DELAY * 2).await;
        // The trim ran (and cleared the flag); the next call starts another.
        assert!(!PENDING.load(Ordering::Acquire));
        release_soon();
        assert!(PENDING.load(Ordering::Acquire));
    }
}
