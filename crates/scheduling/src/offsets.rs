//! Where a zone's UTC offset changes inside a range of slots.
//!
//! Laying a weekly pattern onto real dates only needs the zone's offset at
//! each slot, and the offset is constant for months at a time. Asking the tz
//! database once per slot would cost ~100 000 lookups for a year; instead we
//! sample the offset once per day and, where two samples differ, bisect to the
//! first slot with the new offset. That needs at most one change between two
//! samples: the closest pair of offset changes in the 2025 tz database is
//! 167 hours apart (Brazil 2000, Gaza projections), so a daily sample is safe
//! with a wide margin. The property tests check the result against a per-slot
//! lookup.

use chrono::{DateTime, Offset, TimeZone};
use chrono_tz::Tz;

use crate::pattern::SLOTS_PER_DAY;
use crate::window::SLOT_SECONDS;

/// A stretch of slots `start..end` (relative to the first slot asked for)
/// over which the zone's offset is `offset_seconds` east of UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OffsetRun {
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) offset_seconds: i32,
}

impl OffsetRun {
    /// How many whole slots local time is ahead of UTC, rounded down: the
    /// local slot of UTC slot `u` is `u + shift`, because a slot start is a
    /// multiple of five minutes and `floor((300u + off) / 300) = u +
    /// floor(off / 300)` even for offsets with stray minutes or seconds.
    pub(crate) fn shift(&self) -> i64 {
        i64::from(self.offset_seconds).div_euclid(SLOT_SECONDS)
    }
}

/// The offset of `tz` at the start of absolute slot `slot`.
fn offset_at(tz: Tz, slot: i64) -> i32 {
    DateTime::from_timestamp(slot * SLOT_SECONDS, 0).map_or(0, |t| {
        tz.offset_from_utc_datetime(&t.naive_utc())
            .fix()
            .local_minus_utc()
    })
}

/// The runs of constant offset covering `slots` slots from absolute slot
/// `first` (counted from the Unix epoch), in order and without gaps.
pub(crate) fn offset_runs(tz: Tz, first: i64, slots: usize) -> Vec<OffsetRun> {
    let mut runs = Vec::new();
    if slots == 0 {
        return runs;
    }
    let at = |rel: usize| offset_at(tz, first + rel as i64);
    let mut run_start = 0;
    let mut lo = 0;
    let mut lo_off = at(0);
    while lo < slots - 1 {
        let hi = (lo + SLOTS_PER_DAY).min(slots - 1);
        let hi_off = at(hi);
        if hi_off != lo_off {
            // Bisect for the first slot in (lo, hi] whose offset differs.
            let (mut a, mut b) = (lo, hi);
            while b - a > 1 {
                let mid = a + (b - a) / 2;
                if at(mid) == lo_off {
                    a = mid;
                } else {
                    b = mid;
                }
            }
            runs.push(OffsetRun {
                start: run_start,
                end: b,
                offset_seconds: lo_off,
            });
            run_start = b;
        }
        lo = hi;
        lo_off = hi_off;
    }
    runs.push(OffsetRun {
        start: run_start,
        end: slots,
        offset_seconds: lo_off,
    });
    runs
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, Utc};
    use chrono_tz::{Africa, America, Asia, Australia, Europe};

    fn slot_of(s: &str) -> i64 {
        DateTime::parse_from_rfc3339(s)
            .expect("valid test instant")
            .with_timezone(&Utc)
            .timestamp()
            / SLOT_SECONDS
    }

    #[test]
    fn berlin_changes_offset_exactly_at_0100_utc_on_the_last_sunday_of_march() {
        let first = slot_of("2025-03-24T00:00:00Z");
        let runs = offset_runs(Europe::Berlin, first, 7 * 288);
        let change = (slot_of("2025-03-30T01:00:00Z") - first) as usize;
        assert_eq!(
            runs,
            vec![
                OffsetRun {
                    start: 0,
                    end: change,
                    offset_seconds: 3600
                },
                OffsetRun {
                    start: change,
                    end: 7 * 288,
                    offset_seconds: 7200
                },
            ]
        );
    }

    #[test]
    fn a_year_in_new_york_has_two_changes() {
        let first = slot_of("2025-01-01T00:00:00Z");
        let runs = offset_runs(America::New_York, first, 365 * 288);
        let offsets: Vec<i32> = runs.iter().map(|r| r.offset_seconds).collect();
        assert_eq!(offsets, vec![-5 * 3600, -4 * 3600, -5 * 3600]);
    }

    #[test]
    fn kathmandu_never_changes_and_shifts_by_69_slots() {
        let first = slot_of("2025-01-01T00:00:00Z");
        let runs = offset_runs(Asia::Kathmandu, first, 400 * 288);
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].shift(), 69);
    }

    #[test]
    fn lord_howe_moves_by_half_an_hour() {
        let first = slot_of("2025-10-01T00:00:00Z");
        let runs = offset_runs(Australia::Lord_Howe, first, 10 * 288);
        let shifts: Vec<i64> = runs.iter().map(OffsetRun::shift).collect();
        assert_eq!(shifts, vec![126, 132]);
    }

    #[test]
    fn a_change_on_the_last_slot_is_found() {
        // 2025-03-30 01:00Z is Berlin's change; end the range right after it.
        let first = slot_of("2025-03-29T00:55:00Z");
        let slots = (slot_of("2025-03-30T01:00:00Z") - first + 1) as usize;
        let runs = offset_runs(Europe::Berlin, first, slots);
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[1].start, slots - 1);
    }

    #[test]
    fn historic_offsets_with_seconds_round_down_to_a_slot() {
        let d = NaiveDate::from_ymd_opt(1950, 6, 1).expect("valid");
        let t = d.and_hms_opt(12, 0, 0).expect("valid").and_utc();
        let runs = offset_runs(Africa::Monrovia, t.timestamp() / SLOT_SECONDS, 1);
        // Monrovia Mean Time, -00:44:30 until 1972: at 12:00 UTC it was
        // 11:15:30 local, which lies in the 11:15 slot, 9 slots back.
        assert_eq!(runs[0].offset_seconds, -2670);
        assert_eq!(runs[0].shift(), -9);
    }
}
