//! Laying a weekly pattern onto the real dates of a window.
//!
//! A [`Timeline`] is one user's free time over a [`Window`]: one bit per
//! five-minute UTC slot. The rule is deliberately simple so that it is right
//! across daylight-saving changes:
//!
//! > UTC slot `u` is free iff the user's local wall-clock time at the start
//! > of `u` (in the user's own zone) falls in a free slot of that local
//! > weekday.
//!
//! So in the hour skipped by spring-forward no UTC slot maps to the skipped
//! local slots (they simply never happen), and in the hour repeated by
//! fall-back both occurrences map to the same local slots, which are free
//! twice. Zones with 45-minute offsets (Asia/Kathmandu) or 30-minute DST
//! shifts (Australia/Lord_Howe) need nothing special: the offset is always a
//! whole number of slots.
//!
//! # Speed
//!
//! Within a run of constant UTC offset (see `offsets`), the timeline is a
//! straight copy of the pattern's week, read from the local position of the
//! run's first slot and wrapping every 2016 slots. We build that week once
//! per pattern as a bit tape, then fill the timeline 64 slots at a time with
//! two shifts and an OR per word: laying 62 days costs ~280 word operations,
//! not 17 856 tz-database lookups. [`Group::lay_out`] also shares the offset
//! runs between users of the same zone.

use std::collections::HashMap;

use chrono_tz::Tz;

use crate::bits;
use crate::dated::OverrideKind;
use crate::offsets::{OffsetRun, offset_runs};
use crate::pattern::{SLOTS_PER_DAY, WeeklyPattern};
use crate::window::Window;

/// Slots in a week.
const WEEK_SLOTS: usize = 7 * SLOTS_PER_DAY;
/// Words in one [`WeekChunk`] (2016 bits, the last 32 bits of the last word
/// unused).
pub const WEEK_CHUNK_WORDS: usize = WEEK_SLOTS.div_ceil(64);

/// One week (2016 slots) of a timeline, counted from the window start: the
/// unit of the compact encoding ([`Timeline::week_chunks`]). A weekly
/// pattern laid out at one UTC offset repeats exactly from one chunk to the
/// next, so a year of it is a handful of distinct chunks.
pub type WeekChunk = [u64; WEEK_CHUNK_WORDS];
/// The tape position of the Unix epoch's local midnight: 1970-01-01 was a
/// Thursday, and the tape starts on Monday.
const EPOCH_TAPE_POS: i64 = 3 * SLOTS_PER_DAY as i64;
/// Words in the tape: a week plus one more Monday, so that 64 bits starting
/// at any position of the week can be read without wrapping.
const TAPE_WORDS: usize = (WEEK_SLOTS + SLOTS_PER_DAY).div_ceil(64) + 1;

/// One user's free time over a window, one bit per five-minute UTC slot.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Timeline {
    /// Bit `i` = slot `i` free; bits past `slots` are always clear, so word
    /// operations never need an end mask.
    words: Vec<u64>,
    slots: usize,
}

impl std::fmt::Debug for Timeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Timeline({} slots, free {:?})",
            self.slots,
            self.free_runs()
        )
    }
}

impl Timeline {
    /// Lays `pattern`, read in `tz`, onto `window`.
    pub fn lay_out(pattern: &WeeklyPattern, tz: Tz, window: &Window) -> Self {
        let runs = offset_runs(tz, window.first_slot(), window.slots());
        Self::lay_out_runs(pattern, &runs, window)
    }

    /// Lays `pattern` onto `window` given the zone's offset runs over it.
    fn lay_out_runs(pattern: &WeeklyPattern, runs: &[OffsetRun], window: &Window) -> Self {
        let slots = window.slots();
        let mut words = vec![0u64; bits::words_for(slots)];
        let tape = week_tape(pattern);
        for run in runs.iter().filter(|r| r.start < r.end) {
            let week = WEEK_SLOTS as i64;
            let base = (window.first_slot() + run.shift() + EPOCH_TAPE_POS).rem_euclid(week);
            let (first, last) = (run.start / 64, (run.end - 1) / 64);
            let head = bits::word_mask(run.start % 64, 64);
            let tail = bits::word_mask(0, (run.end - 1) % 64 + 1);
            // Tape position of bit 0 of word `first` (valid even when that
            // bit precedes the run: the tape is periodic).
            let mut pos = (base as usize + (first * 64) % WEEK_SLOTS) % WEEK_SLOTS;
            for (w, word) in words[first..=last].iter_mut().enumerate() {
                let mut v = read64(&tape, pos);
                if w == 0 {
                    v &= head;
                }
                if w == last - first {
                    v &= tail;
                }
                *word |= v;
                pos += 64;
                if pos >= WEEK_SLOTS {
                    pos -= WEEK_SLOTS;
                }
            }
        }
        Self { words, slots }
    }

    /// A timeline of `slots` slots, free where `free(slot)` says so (tests,
    /// benchmarks, callers with their own source of busy time).
    pub fn from_fn(slots: usize, mut free: impl FnMut(usize) -> bool) -> Self {
        let mut words = vec![0u64; bits::words_for(slots)];
        for i in (0..slots).filter(|i| free(*i)) {
            words[i / 64] |= 1 << (i % 64);
        }
        Self { words, slots }
    }

    /// Marks one slot free or busy (dated changes; see `dated`).
    pub(crate) fn set(&mut self, slot: usize, free: bool) {
        if slot < self.slots {
            let bit = 1u64 << (slot % 64);
            if free {
                self.words[slot / 64] |= bit;
            } else {
                self.words[slot / 64] &= !bit;
            }
        }
    }

    /// The number of slots (the window's).
    pub fn slots(&self) -> usize {
        self.slots
    }

    /// Whether the user is free in slot `slot` (false past the end).
    pub fn is_free(&self, slot: usize) -> bool {
        bits::get(&self.words, slot)
    }

    /// Whether the user is free for every slot in `start..end` (false if the
    /// range runs past the end; true if it is empty).
    pub fn is_free_between(&self, start: usize, end: usize) -> bool {
        end <= self.slots && bits::all_set(&self.words, start, end)
    }

    /// The number of free slots.
    pub fn free_slots(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// Maximal free runs `(start, end)` in slots, end exclusive.
    pub fn free_runs(&self) -> Vec<(usize, usize)> {
        bits::runs(&self.words).collect()
    }

    /// The timeline cut into consecutive weeks from the window start; the
    /// last chunk holds the remaining slots (bits past them clear).
    pub fn week_chunks(&self) -> Vec<WeekChunk> {
        (0..self.slots.div_ceil(WEEK_SLOTS))
            .map(|c| {
                let start = c * WEEK_SLOTS;
                bits::extract(&self.words, start, WEEK_SLOTS.min(self.slots - start))
            })
            .collect()
    }

    /// The inverse of [`Timeline::week_chunks`]: `None` unless there is
    /// exactly one chunk per started week of `slots`. Bits of the last
    /// chunk past `slots` are ignored.
    pub fn from_week_chunks<'a>(
        slots: usize,
        chunks: impl ExactSizeIterator<Item = &'a WeekChunk>,
    ) -> Option<Self> {
        if chunks.len() != slots.div_ceil(WEEK_SLOTS) {
            return None;
        }
        let mut words = vec![0u64; bits::words_for(slots)];
        for (c, chunk) in chunks.enumerate() {
            let start = c * WEEK_SLOTS;
            bits::or_at(&mut words, start, chunk, WEEK_SLOTS.min(slots - start));
        }
        Some(Self { words, slots })
    }

    /// The raw bits, for word-wise algorithms in this crate.
    pub(crate) fn words(&self) -> &[u64] {
        &self.words
    }

    /// Adds `other`'s free slots to this timeline's (same length).
    fn or_with(&mut self, other: &Timeline) {
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a |= b;
        }
    }

    /// Removes `other`'s free slots from this timeline's (same length).
    pub(crate) fn and_not(&mut self, other: &Timeline) {
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a &= !b;
        }
    }

    /// Whether any slot in `start..end` is free.
    pub fn any_free_between(&self, start: usize, end: usize) -> bool {
        bits::next_set(&self.words, start).is_some_and(|s| s < end)
    }
}

/// The pattern's week as a bit tape starting Monday 00:00 local, with the
/// following Monday appended so any 64-bit read at a position below 2016
/// stays inside the array.
fn week_tape(pattern: &WeeklyPattern) -> [u64; TAPE_WORDS] {
    let mut tape = [0u64; TAPE_WORDS];
    let days = pattern.days();
    for (d, day) in days.iter().chain(days.iter().take(1)).enumerate() {
        bits::or_at(&mut tape, d * SLOTS_PER_DAY, day.words(), SLOTS_PER_DAY);
    }
    tape
}

/// The 64 tape bits starting at `pos` (`pos < WEEK_SLOTS`).
#[inline]
fn read64(tape: &[u64; TAPE_WORDS], pos: usize) -> u64 {
    let (q, off) = (pos / 64, pos % 64);
    // `<< 1 << (63 - off)` is `<< (64 - off)` without overflowing at 0.
    tape[q] >> off | tape[q + 1] << 1 << (63 - off)
}

/// A group's timelines over one window, user `i` at index `i`.
///
/// Building the timelines together guarantees they share the window (every
/// algorithm indexes them by the same slots) and lets users in the same zone
/// share the offset lookup.
///
/// # Two levels of free time (SPEC §10)
///
/// A member's timeline is the time they *can* attend: plainly free or free
/// only "if need be". Intersection and quorums work on it alone, so the
/// if-need-be level costs nothing where nobody uses it. The if-need-be part
/// is kept beside it ([`Group::if_need_be`]), always a subset of the
/// timeline; where a weekly pattern says both free and if-need-be, free wins
/// (the stronger statement), while a dated override replaces whatever was
/// there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    window: Window,
    timelines: Vec<Timeline>,
    /// Member `i`'s if-need-be slots (a subset of `timelines[i]`); `None`
    /// until some member has any, so single-level groups carry nothing.
    maybe: Option<Vec<Timeline>>,
}

impl Group {
    /// Lays out each member's pattern in that member's own zone.
    pub fn lay_out<'a>(
        window: Window,
        members: impl IntoIterator<Item = (&'a WeeklyPattern, Tz)>,
    ) -> Self {
        let mut runs_by_zone: HashMap<Tz, Vec<OffsetRun>> = HashMap::new();
        let timelines = members
            .into_iter()
            .map(|(pattern, tz)| {
                let runs = runs_by_zone
                    .entry(tz)
                    .or_insert_with(|| offset_runs(tz, window.first_slot(), window.slots()));
                Timeline::lay_out_runs(pattern, runs, &window)
            })
            .collect();
        Self {
            window,
            timelines,
            maybe: None,
        }
    }

    /// Groups ready-made timelines; `None` unless each has exactly the
    /// window's number of slots.
    pub fn from_timelines(window: Window, timelines: Vec<Timeline>) -> Option<Self> {
        timelines
            .iter()
            .all(|t| t.slots == window.slots())
            .then_some(Self {
                window,
                timelines,
                maybe: None,
            })
    }

    /// Sets member `i`'s if-need-be slots from a ready-made timeline: they
    /// join the member's available time (plain free time stays plain).
    /// `false` (and no change) unless `i` is a member and the timeline has
    /// the window's length.
    pub fn set_if_need_be(&mut self, i: usize, maybe: Timeline) -> bool {
        if i >= self.timelines.len() || maybe.slots != self.window.slots() {
            return false;
        }
        self.timelines[i].or_with(&maybe);
        let levels = self.levels_mut();
        levels[i] = maybe;
        true
    }

    /// Lays member `i`'s weekly if-need-be pattern out in `tz` and adds it
    /// below the plain free time: a slot free in both stays plainly free.
    pub fn add_if_need_be(&mut self, i: usize, pattern: &WeeklyPattern, tz: Tz) {
        if i >= self.timelines.len() || pattern.is_empty() {
            return;
        }
        let mut maybe = Timeline::lay_out(pattern, tz, &self.window);
        maybe.and_not(&self.timelines[i]);
        self.timelines[i].or_with(&maybe);
        let levels = self.levels_mut();
        levels[i].or_with(&maybe);
    }

    /// Every member's if-need-be slots, created empty on first use.
    fn levels_mut(&mut self) -> &mut Vec<Timeline> {
        let (n, slots) = (self.timelines.len(), self.window.slots());
        self.maybe
            .get_or_insert_with(|| vec![Timeline::from_fn(slots, |_| false); n])
    }

    /// Member `i`'s if-need-be slots, or `None` when no member has any (a
    /// single-level group: every available slot is plainly free).
    pub fn if_need_be(&self) -> Option<&[Timeline]> {
        self.maybe
            .as_deref()
            .filter(|m| m.iter().any(|t| t.words.iter().any(|w| *w != 0)))
    }

    /// Each member's plainly free time: available and not if-need-be.
    pub(crate) fn plain_timelines(&self) -> Vec<Timeline> {
        let mut plain = self.timelines.clone();
        if let Some(maybe) = &self.maybe {
            for (p, m) in plain.iter_mut().zip(maybe) {
                p.and_not(m);
            }
        }
        plain
    }

    /// Whether member `u`, free for all of `start..end`, is free only if
    /// need be for some of it.
    pub fn needs_if_need_be(&self, u: usize, start: usize, end: usize) -> bool {
        self.maybe
            .as_ref()
            .and_then(|m| m.get(u))
            .is_some_and(|t| t.any_free_between(start, end))
    }

    /// The shared window.
    pub fn window(&self) -> &Window {
        &self.window
    }

    /// The members' timelines, in member order.
    pub fn timelines(&self) -> &[Timeline] {
        &self.timelines
    }

    /// Applies member `i`'s dated changes (see [`Timeline::apply_dated`]).
    pub fn apply_dated(
        &mut self,
        i: usize,
        tz: Tz,
        overrides: &[crate::dated::Override],
        busy: &[crate::dated::Busy],
    ) {
        let window = self.window;
        if i >= self.timelines.len() {
            return;
        }
        let keeps_level = overrides.iter().any(|o| o.kind == OverrideKind::IfNeedBe);
        if keeps_level || self.maybe.is_some() {
            self.levels_mut();
        }
        let maybe = self.maybe.as_mut().map(|m| &mut m[i]);
        self.timelines[i].apply_dated_levels(maybe, tz, &window, overrides, busy);
    }

    /// The number of members.
    pub fn len(&self) -> usize {
        self.timelines.len()
    }

    /// Whether the group has no members.
    pub fn is_empty(&self) -> bool {
        self.timelines.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, NaiveDate, Utc};
    use chrono_tz::{America, Asia, Australia, Europe, UTC};
    use serde_json::json;

    fn pattern(v: serde_json::Value) -> WeeklyPattern {
        WeeklyPattern::from_json(&v).expect("valid test pattern")
    }

    fn window(y: i32, m: u32, d: u32, days: u32, tz: Tz) -> Window {
        let from = NaiveDate::from_ymd_opt(y, m, d).expect("valid test date");
        Window::new(from, days, tz).expect("valid test window")
    }

    fn instant(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("valid test instant")
            .with_timezone(&Utc)
    }

    /// The free runs as UTC instants.
    fn free_utc(t: &Timeline, w: &Window) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        t.free_runs()
            .into_iter()
            .map(|(a, b)| (w.slot_start(a), w.slot_start(b)))
            .collect()
    }

    #[test]
    fn a_year_of_one_zone_is_a_few_distinct_weeks_and_round_trips() {
        let p = pattern(json!({"monday": [9, 10], "friday": ["13:05-17:55"], "sunday": [23]}));
        let w = window(2027, 1, 1, 366, America::New_York);
        let t = Timeline::lay_out(&p, America::New_York, &w);
        let chunks = t.week_chunks();
        assert_eq!(chunks.len(), 53);
        let mut distinct = chunks.clone();
        distinct.sort_unstable();
        distinct.dedup();
        // Before DST, the week of the March change, after, the week of the
        // November change, before again, and the short last week.
        assert!(distinct.len() <= 6, "{} distinct weeks", distinct.len());
        assert_eq!(
            Timeline::from_week_chunks(t.slots(), chunks.iter()),
            Some(t.clone())
        );
        assert_eq!(
            Timeline::from_week_chunks(t.slots(), chunks[1..].iter()),
            None
        );
    }

    #[test]
    fn stray_bits_past_the_window_in_the_last_chunk_are_dropped() {
        let slots = 2016 + 10;
        let full = [u64::MAX; WEEK_CHUNK_WORDS];
        let t = Timeline::from_week_chunks(slots, [full, full].iter()).expect("two chunks");
        assert_eq!(t.free_slots(), slots);
        assert_eq!(t, Timeline::from_fn(slots, |_| true));
    }

    fn free_at(t: &Timeline, w: &Window, s: &str) -> bool {
        let i = (instant(s) - w.start()).num_minutes() / 5;
        t.is_free(i as usize)
    }

    #[test]
    fn a_utc_user_is_free_exactly_in_their_hours() {
        let w = window(2025, 3, 3, 7, UTC);
        let t = Timeline::lay_out(&pattern(json!({"monday": [9, 10]})), UTC, &w);
        assert_eq!(
            free_utc(&t, &w),
            vec![(
                instant("2025-03-03T09:00:00Z"),
                instant("2025-03-03T11:00:00Z")
            )]
        );
    }

    #[test]
    fn a_user_in_kathmandu_is_free_at_0315_utc_for_a_0900_local_slot() {
        let w = window(2025, 3, 3, 7, UTC);
        let t = Timeline::lay_out(&pattern(json!({"monday": [9]})), Asia::Kathmandu, &w);
        assert_eq!(
            free_utc(&t, &w),
            vec![(
                instant("2025-03-03T03:15:00Z"),
                instant("2025-03-03T04:15:00Z")
            )]
        );
    }

    #[test]
    fn a_late_evening_local_slot_lands_on_the_previous_utc_day() {
        let w = window(2025, 3, 3, 7, UTC);
        // Sunday 01:00-02:00 in Kathmandu is Saturday 19:15-20:15 UTC.
        let t = Timeline::lay_out(&pattern(json!({"sunday": [1]})), Asia::Kathmandu, &w);
        assert_eq!(
            free_utc(&t, &w),
            vec![(
                instant("2025-03-08T19:15:00Z"),
                instant("2025-03-08T20:15:00Z")
            )]
        );
    }

    #[test]
    fn a_berlin_user_loses_the_skipped_hour_at_spring_forward() {
        let w = window(2025, 3, 30, 1, Europe::Berlin);
        let t = Timeline::lay_out(
            &pattern(json!({"sunday": ["01:00-04:00"]})),
            Europe::Berlin,
            &w,
        );
        // 01:00-02:00 CET then 03:00-04:00 CEST; 02:00-03:00 never happens.
        assert_eq!(
            free_utc(&t, &w),
            vec![(
                instant("2025-03-30T00:00:00Z"),
                instant("2025-03-30T02:00:00Z")
            )]
        );
        assert_eq!(t.free_slots(), 24);
    }

    #[test]
    fn a_berlin_user_is_free_twice_in_the_repeated_hour_at_fall_back() {
        let w = window(2025, 10, 26, 1, Europe::Berlin);
        let t = Timeline::lay_out(&pattern(json!({"sunday": [2]})), Europe::Berlin, &w);
        // 02:00-03:00 CEST (00:00Z) and again 02:00-03:00 CET (01:00Z).
        assert_eq!(
            free_utc(&t, &w),
            vec![(
                instant("2025-10-26T00:00:00Z"),
                instant("2025-10-26T02:00:00Z")
            )]
        );
    }

    #[test]
    fn a_new_york_user_keeps_nine_to_five_local_across_spring_forward() {
        let w = window(2025, 3, 7, 4, UTC);
        let p = pattern(json!({"friday": ["09:00-17:00"], "monday": ["09:00-17:00"]}));
        let t = Timeline::lay_out(&p, America::New_York, &w);
        assert_eq!(
            free_utc(&t, &w),
            vec![
                (
                    instant("2025-03-07T14:00:00Z"),
                    instant("2025-03-07T22:00:00Z")
                ),
                (
                    instant("2025-03-10T13:00:00Z"),
                    instant("2025-03-10T21:00:00Z")
                ),
            ]
        );
    }

    #[test]
    fn a_new_york_user_free_at_0130_is_free_for_both_0130s_at_fall_back() {
        let w = window(2025, 11, 2, 1, America::New_York);
        let t = Timeline::lay_out(
            &pattern(json!({"sunday": ["01:30-01:35"]})),
            America::New_York,
            &w,
        );
        assert!(free_at(&t, &w, "2025-11-02T05:30:00Z"));
        assert!(free_at(&t, &w, "2025-11-02T06:30:00Z"));
        assert_eq!(t.free_slots(), 2);
    }

    #[test]
    fn lord_howe_skips_half_an_hour_at_spring_forward() {
        let w = window(2025, 10, 5, 1, Australia::Lord_Howe);
        let t = Timeline::lay_out(
            &pattern(json!({"sunday": ["01:00-04:00"]})),
            Australia::Lord_Howe,
            &w,
        );
        // 02:00-02:30 does not exist: 3 h of wall clock hold 2.5 h of time.
        assert_eq!(t.free_slots(), 30);
        assert_eq!(t.free_runs().len(), 1);
    }

    #[test]
    fn lord_howe_repeats_half_an_hour_at_fall_back() {
        let w = window(2025, 4, 6, 1, Australia::Lord_Howe);
        let t = Timeline::lay_out(
            &pattern(json!({"sunday": ["01:30-02:00"]})),
            Australia::Lord_Howe,
            &w,
        );
        assert_eq!(t.free_slots(), 12);
    }

    #[test]
    fn a_window_of_a_full_year_is_laid_out_without_gaps() {
        let w = window(2024, 1, 1, 366, America::New_York);
        let all = WeeklyPattern::from_days(
            [crate::DaySlots::full(); 7],
            [crate::DayFormat::Intervals; 7],
        );
        let t = Timeline::lay_out(&all, Europe::Berlin, &w);
        assert_eq!(t.free_slots(), w.slots());
    }

    #[test]
    fn users_in_the_same_zone_share_one_layout_of_offsets() {
        let w = window(2025, 3, 3, 7, UTC);
        let a = pattern(json!({"monday": [9]}));
        let b = pattern(json!({"monday": [10]}));
        let g = Group::lay_out(w, [(&a, Asia::Kathmandu), (&b, Asia::Kathmandu), (&a, UTC)]);
        assert_eq!(g.len(), 3);
        assert_eq!(g.timelines()[0], Timeline::lay_out(&a, Asia::Kathmandu, &w));
        assert_eq!(g.timelines()[1], Timeline::lay_out(&b, Asia::Kathmandu, &w));
        assert_eq!(g.timelines()[2], Timeline::lay_out(&a, UTC, &w));
    }

    #[test]
    fn timelines_of_another_length_cannot_form_a_group() {
        let w = window(2025, 3, 3, 1, UTC);
        assert!(Group::from_timelines(w, vec![Timeline::from_fn(10, |_| true)]).is_none());
        assert!(Group::from_timelines(w, vec![Timeline::from_fn(288, |_| true)]).is_some());
    }
}
