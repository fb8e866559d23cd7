//! `memory::trim` gives freed memory back to the kernel. A file of its own:
//! the resident size is the whole process's, so no other test may run
//! beside this one.

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn trim_returns_freed_fragmented_memory() {
    fn rss_kib() -> usize {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }
    let base = rss_kib();
    // ~64 MB in 512-byte pieces, every 64th kept: the free pages between the
    // kept ones are not at the top of the heap, so free() alone keeps them.
    let mut pieces: Vec<Vec<u8>> = (0..128 * 1024).map(|i| vec![i as u8; 512]).collect();
    let kept: Vec<Vec<u8>> = pieces.iter().step_by(64).cloned().collect();
    pieces.clear();
    pieces.shrink_to_fit();
    let freed = rss_kib();
    assert!(
        freed > base + 40_000,
        "the test allocated too little: {base} → {freed} KiB"
    );
    assert!(
        w2meet_platform::memory::trim(),
        "malloc_trim gave nothing back"
    );
    let trimmed = rss_kib();
    assert!(
        trimmed < base + (freed - base) / 4,
        "resident after the trim {trimmed} KiB (before the work {base}, after freeing {freed})"
    );
    assert_eq!(kept.len(), 2048);
}
