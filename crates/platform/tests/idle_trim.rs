//! The trim after load (`memory::note_request`): once after a load ends,
//! never during it, never for a trickle. A file of its own: the request
//! count and the trim counters are the whole process's.

use std::time::{Duration, Instant};

use w2meet_platform::memory::{IDLE_TICK, LOAD_REQUESTS, idle_trims, note_request};

/// Waits up to `within` for `idle_trims()` to pass `than`.
fn trims_after(than: u64, within: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < within {
        if idle_trims() > than {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// Notes `n` requests spread evenly over `over`.
fn serve(n: u64, over: Duration) {
    for _ in 0..n {
        note_request();
        std::thread::sleep(over / n as u32);
    }
}

#[test]
fn a_load_is_trimmed_once_after_it_ends_never_during_it_nor_for_a_trickle() {
    // A trickle: fewer requests than a load, then quiet.
    serve(LOAD_REQUESTS / 4, Duration::from_millis(200));
    assert!(
        !trims_after(0, IDLE_TICK * 3),
        "a trickle of requests made a trim"
    );

    // A load spread over three ticks: nothing while it lasts…
    serve(LOAD_REQUESTS * 2, IDLE_TICK * 3);
    assert_eq!(idle_trims(), 0, "trimmed while requests kept coming");
    // …one trim within two ticks of its end, and no second one for it.
    assert!(trims_after(0, IDLE_TICK * 3), "no trim after the load");
    std::thread::sleep(IDLE_TICK * 3);
    assert_eq!(idle_trims(), 1, "one load, one trim");

    // The next load is trimmed again.
    serve(LOAD_REQUESTS, Duration::from_millis(300));
    assert!(trims_after(1, IDLE_TICK * 3), "no trim after a second load");
}
