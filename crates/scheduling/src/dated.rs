//! Dated changes to a weekly pattern: a person's own overrides (local
//! wall-clock ranges in their zone, `busy`, `free` or `if_need_be`) and the
//! time their booked meetings hold (absolute ranges, always busy).
//!
//! The rules, applied in this order on top of the laid-out pattern:
//! 1. **Overrides**, in the order given (a later one wins where they
//!    overlap). The same rule as the pattern's: UTC slot `u` is affected iff
//!    the local wall-clock time at the start of `u` falls in `[from, to)`.
//!    So an override for a day that has a daylight-saving change covers
//!    that day's 23 or 25 hours, and one naming a skipped local time simply
//!    covers less. `free` makes the time plainly free, `if_need_be`
//!    available only if need be (see [`Group`](crate::timeline::Group)),
//!    `busy` neither.
//! 2. **Busy time** from meetings: every slot that overlaps `[start, end)`
//!    is busy, whatever the pattern or an override says (a meeting at
//!    09:10–09:50 takes the whole 09:05 and 09:45 slots).
//!
//! Both are arithmetic over the zone's offset runs (a constant offset
//! within a run), not a tz lookup per slot.

use chrono::{DateTime, NaiveDateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::offsets::offset_runs;
use crate::timeline::Timeline;
use crate::window::{SLOT_SECONDS, Window};

/// What an override makes of its time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OverrideKind {
    Busy,
    Free,
    /// Available, but only if need be (SPEC §10).
    IfNeedBe,
}

/// A local wall-clock range `[from, to)` in the person's zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Override {
    pub from: NaiveDateTime,
    pub to: NaiveDateTime,
    pub kind: OverrideKind,
}

/// Time a booked meeting holds: `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Busy {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// Local wall-clock time as a slot count since the (local) epoch.
fn local_slot_floor(t: NaiveDateTime) -> i64 {
    t.and_utc().timestamp().div_euclid(SLOT_SECONDS)
}

/// Sets `start..end` of the available time, and of the if-need-be time when
/// it is kept, to what `kind` makes of it.
fn set_range(
    available: &mut Timeline,
    mut maybe: Option<&mut Timeline>,
    start: usize,
    end: usize,
    kind: OverrideKind,
) {
    let is_available = kind != OverrideKind::Busy;
    let is_maybe = kind == OverrideKind::IfNeedBe;
    for slot in start..end {
        available.set(slot, is_available);
        if let Some(m) = maybe.as_deref_mut() {
            m.set(slot, is_maybe);
        }
    }
}

impl Timeline {
    /// Applies `overrides` (read in `tz`) and then `busy` over `window`
    /// (see the module doc for the rules). An `if_need_be` override counts
    /// as free here; [`Timeline::apply_dated_levels`] keeps the level.
    pub fn apply_dated(&mut self, tz: Tz, window: &Window, overrides: &[Override], busy: &[Busy]) {
        self.apply_dated_levels(None, tz, window, overrides, busy);
    }

    /// [`Timeline::apply_dated`] on the available time (`self`) and on the
    /// part of it that is free only if need be (`maybe`, a subset of
    /// `self`, which stays a subset).
    pub fn apply_dated_levels(
        &mut self,
        mut maybe: Option<&mut Timeline>,
        tz: Tz,
        window: &Window,
        overrides: &[Override],
        busy: &[Busy],
    ) {
        let slots = window.slots() as i64;
        if !overrides.is_empty() {
            let runs = offset_runs(tz, window.first_slot(), window.slots());
            for o in overrides {
                // Local slot of UTC slot u (within a run) = first + u + shift.
                let (from, to) = (local_slot_floor(o.from), local_slot_floor(o.to));
                for run in &runs {
                    let base = window.first_slot() + run.shift();
                    let lo = (from - base).max(run.start as i64);
                    let hi = (to - base).min(run.end as i64);
                    if lo < hi {
                        set_range(self, maybe.as_deref_mut(), lo as usize, hi as usize, o.kind);
                    }
                }
            }
        }
        for b in busy {
            let start = (b.start.timestamp().div_euclid(SLOT_SECONDS) - window.first_slot()).max(0);
            let end_secs = b.end.timestamp();
            let end = (end_secs.div_euclid(SLOT_SECONDS)
                + i64::from(end_secs.rem_euclid(SLOT_SECONDS) != 0)
                - window.first_slot())
            .min(slots);
            if start < end {
                let (start, end) = (start as usize, end as usize);
                set_range(self, maybe.as_deref_mut(), start, end, OverrideKind::Busy);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pattern::WeeklyPattern;
    use chrono::{Duration, NaiveDate, TimeZone};
    use chrono_tz::{America, Asia, Australia, Europe, UTC};
    use proptest::prelude::*;
    use serde_json::json;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M").unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    /// The rules read literally, one slot at a time with a tz lookup each.
    fn reference(
        pattern: &WeeklyPattern,
        tz: Tz,
        window: &Window,
        overrides: &[Override],
        busy: &[Busy],
    ) -> Vec<bool> {
        let base = Timeline::lay_out(pattern, tz, window);
        (0..window.slots())
            .map(|u| {
                let start = window.slot_start(u);
                let end = start + Duration::minutes(5);
                let local = start.with_timezone(&tz).naive_local();
                let mut free = base.is_free(u);
                for o in overrides {
                    if o.from <= local && local < o.to {
                        free = o.kind == OverrideKind::Free;
                    }
                }
                if busy.iter().any(|b| b.start < end && start < b.end) {
                    free = false;
                }
                free
            })
            .collect()
    }

    fn applied(
        pattern: &WeeklyPattern,
        tz: Tz,
        window: &Window,
        overrides: &[Override],
        busy: &[Busy],
    ) -> Vec<bool> {
        let mut t = Timeline::lay_out(pattern, tz, window);
        t.apply_dated(tz, window, overrides, busy);
        (0..window.slots()).map(|u| t.is_free(u)).collect()
    }

    #[test]
    fn a_busy_day_override_clears_the_pattern_and_a_free_range_adds_to_it() {
        let pattern = WeeklyPattern::from_json(&json!({"monday": [9, 10]})).unwrap();
        let window = Window::new(NaiveDate::from_ymd_opt(2031, 3, 3).unwrap(), 2, UTC).unwrap();
        let overrides = [
            Override {
                from: at("2031-03-03T00:00"),
                to: at("2031-03-04T00:00"),
                kind: OverrideKind::Busy,
            },
            Override {
                from: at("2031-03-04T14:00"),
                to: at("2031-03-04T15:30"),
                kind: OverrideKind::Free,
            },
        ];
        let free = applied(&pattern, UTC, &window, &overrides, &[]);
        assert_eq!(
            free.iter().filter(|f| **f).count(),
            18,
            "only Tuesday 14:00-15:30"
        );
        assert!(free[(24 + 14) * 12]);
    }

    #[test]
    fn busy_time_wins_and_takes_every_slot_it_touches() {
        let pattern = WeeklyPattern::from_json(&json!({"monday": [9, 10, 11]})).unwrap();
        let window = Window::new(NaiveDate::from_ymd_opt(2031, 3, 3).unwrap(), 1, UTC).unwrap();
        let free_override = [Override {
            from: at("2031-03-03T09:00"),
            to: at("2031-03-03T12:00"),
            kind: OverrideKind::Free,
        }];
        let busy = [Busy {
            start: utc("2031-03-03T10:02:00Z"),
            end: utc("2031-03-03T10:58:00Z"),
        }];
        let free = applied(&pattern, UTC, &window, &free_override, &busy);
        let hour = |h: usize| (h * 12..(h + 1) * 12).filter(|s| free[*s]).count();
        assert_eq!((hour(9), hour(10), hour(11)), (12, 0, 12));
    }

    #[test]
    fn an_if_need_be_override_replaces_the_level_and_booked_time_clears_both() {
        let pattern = WeeklyPattern::from_json(&json!({"monday": [9, 10, 11]})).unwrap();
        let window = Window::new(NaiveDate::from_ymd_opt(2031, 3, 3).unwrap(), 1, UTC).unwrap();
        let mut group = crate::Group::lay_out(window, [(&pattern, UTC)]);
        let overrides = [
            Override {
                from: at("2031-03-03T10:00"),
                to: at("2031-03-03T13:00"),
                kind: OverrideKind::IfNeedBe,
            },
            Override {
                from: at("2031-03-03T12:00"),
                to: at("2031-03-03T12:30"),
                kind: OverrideKind::Free,
            },
        ];
        let busy = [Busy {
            start: utc("2031-03-03T11:00:00Z"),
            end: utc("2031-03-03T11:30:00Z"),
        }];
        group.apply_dated(0, UTC, &overrides, &busy);
        let available = &group.timelines()[0];
        let maybe = &group.if_need_be().expect("two levels")[0];
        let hour =
            |t: &Timeline, h: usize| (h * 12..(h + 1) * 12).filter(|s| t.is_free(*s)).count();
        assert_eq!(
            (9..13).map(|h| hour(available, h)).collect::<Vec<_>>(),
            [12, 12, 6, 12]
        );
        assert_eq!(
            (9..13).map(|h| hour(maybe, h)).collect::<Vec<_>>(),
            [0, 12, 6, 6]
        );
    }

    #[test]
    fn a_day_override_on_a_spring_forward_day_covers_its_23_hours() {
        let pattern = WeeklyPattern::from_json(&json!({})).unwrap();
        let tz = Europe::Berlin;
        let window = Window::new(NaiveDate::from_ymd_opt(2031, 3, 30).unwrap(), 1, tz).unwrap();
        let day = [Override {
            from: at("2031-03-30T00:00"),
            to: at("2031-03-31T00:00"),
            kind: OverrideKind::Free,
        }];
        let free = applied(&pattern, tz, &window, &day, &[]);
        assert_eq!(free.iter().filter(|f| **f).count(), 23 * 12);
        assert_eq!(free, reference(&pattern, tz, &window, &day, &[]));
    }

    fn zones() -> impl Strategy<Value = Tz> {
        prop_oneof![
            Just(UTC),
            Just(Europe::Berlin),
            Just(America::New_York),
            Just(Australia::Lord_Howe),
            Just(Asia::Kathmandu),
            Just(America::Sao_Paulo),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn dated_changes_match_the_slow_reference(
            tz in zones(),
            start_day in 0u32..365,
            hours in proptest::collection::vec(0u8..24, 0..12),
            spans in proptest::collection::vec((0i64..(10 * 288), 1i64..(2 * 288), any::<bool>()), 0..5),
            meetings in proptest::collection::vec((0i64..(10 * 288 * 300), 1i64..(4 * 3600)), 0..4),
        ) {
            let day = NaiveDate::from_ymd_opt(2030, 1, 1).unwrap() + Duration::days(i64::from(start_day));
            let window = Window::new(day, 8, tz).unwrap();
            let pattern = WeeklyPattern::from_json(&json!({"monday": hours, "thursday": hours, "sunday": hours})).unwrap();
            let origin = (day - Duration::days(1)).and_hms_opt(0, 0, 0).unwrap();
            let overrides: Vec<Override> = spans
                .iter()
                .map(|(from, len, free)| Override {
                    from: origin + Duration::minutes(from * 5),
                    to: origin + Duration::minutes((from + len) * 5),
                    kind: if *free { OverrideKind::Free } else { OverrideKind::Busy },
                })
                .collect();
            let t0 = Utc.from_utc_datetime(&origin);
            let busy: Vec<Busy> = meetings
                .iter()
                .map(|(offset, len)| Busy {
                    start: t0 + Duration::seconds(*offset),
                    end: t0 + Duration::seconds(offset + len),
                })
                .collect();
            prop_assert_eq!(
                applied(&pattern, tz, &window, &overrides, &busy),
                reference(&pattern, tz, &window, &overrides, &busy)
            );
        }
    }
}
