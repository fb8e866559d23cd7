//! Who is free when: the availability service's answer.
//!
//! [`intersect`] finds every maximal interval where the required users and a
//! quorum are free, starting a new interval whenever the set of free users
//! (or of those free only if need be) changes, so each interval carries one
//! exact attendee list.
//! [`common_hours`] reduces a group to the original W2Meet
//! `common_availabilities` shape: weekday name → whole hours everyone shares.
//!
//! Both work a 64-slot word at a time: the required users are ANDed first,
//! then (only if the quorum asks for more than the required users) the free
//! users per slot are counted with a bit-sliced adder, skipping words the
//! required users already ruled out.

use chrono::{DateTime, Datelike, NaiveDate, Utc, Weekday};
use chrono_tz::Tz;
use serde_json::{Map, Value};

use crate::bits;
use crate::offsets::offset_runs;
use crate::params::Attendance;
use crate::pattern::{DAY_NAMES, SLOTS_PER_DAY};
use crate::timeline::Group;

/// A maximal stretch of time in which the same users are free and the
/// attendance rule holds.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Interval {
    /// First instant (inclusive).
    pub start: DateTime<Utc>,
    /// End (exclusive).
    pub end: DateTime<Utc>,
    /// Indexes of the users free throughout, ascending (if-need-be time
    /// counts as free).
    pub available: Vec<usize>,
    /// Those of `available` who are free only if need be throughout,
    /// ascending; empty in a single-level group.
    pub if_need_be: Vec<usize>,
}

/// Every maximal interval of `group`'s window in which all required users and
/// at least `min_attendees` users are free, split wherever the set of free
/// users, or of those free only if need be, changes.
///
/// # Panics
/// If `attendance` was validated for a group of another size (a programming
/// error: build it with `group.len()`).
pub fn intersect(group: &Group, attendance: &Attendance) -> Vec<Interval> {
    assert_eq!(
        attendance.group_size(),
        group.len(),
        "attendance was validated for another group"
    );
    let slots = group.window().slots();
    let (mask, change) = qualifying_slots(group, attendance);
    // Stop after slot i when slot i+1 does not qualify or someone's freedom
    // changes between i and i+1.
    let stop: Vec<u64> = (0..mask.len())
        .map(|w| {
            let next = mask[w] >> 1 | mask.get(w + 1).map_or(0, |n| n << 63);
            (change[w] | !next) & mask[w]
        })
        .collect();
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(start) = bits::next_set(&mask, at) {
        let last = bits::next_set(&stop, start).unwrap_or(slots - 1);
        // Branch-free gather: membership is data-dependent, so a `filter`
        // here mispredicts about half the time and dominated the profile.
        let (word, bit) = (start / 64, start % 64);
        let mut available = vec![0; group.len()];
        let mut len = 0;
        for (u, t) in group.timelines().iter().enumerate() {
            available[len] = u;
            len += (t.words()[word] >> bit & 1) as usize;
        }
        available.truncate(len);
        let if_need_be = match group.if_need_be() {
            Some(maybe) => available
                .iter()
                .copied()
                .filter(|&u| maybe[u].is_free(start))
                .collect(),
            None => Vec::new(),
        };
        out.push(Interval {
            start: group.window().slot_start(start),
            end: group.window().slot_start(last + 1),
            available,
            if_need_be,
        });
        at = last + 1;
    }
    out
}

/// The slots where every required user and at least `min_attendees` users
/// are free, and (within those words) the slots after which somebody's
/// freedom changes, both as bitsets over the window.
///
/// The required users are ANDed user by user; the rest is one pass per
/// surviving word across all users, keeping that word's bit-sliced counts in
/// a small local array (n <= 1000 needs 10 planes), sixteen users at a time
/// through carry-save adders (`bits::add16`).
fn qualifying_slots(group: &Group, attendance: &Attendance) -> (Vec<u64>, Vec<u64>) {
    let slots = group.window().slots();
    let mut mask = vec![0u64; bits::words_for(slots)];
    bits::set_range(&mut mask, 0, slots);
    let timelines = group.timelines();
    let maybe = group.if_need_be();
    for &u in attendance.required() {
        for (m, x) in mask.iter_mut().zip(timelines[u].words()) {
            *m &= x;
        }
    }
    let k = attendance.min_attendees();
    let need_count = k > attendance.required().len();
    let depth = bits::depth_for(group.len());
    let mut planes = vec![0u64; depth];
    let mut change = vec![0u64; mask.len()];
    for (w, m) in mask.iter_mut().enumerate() {
        if *m == 0 {
            continue;
        }
        let mut ch = 0;
        for t in timelines.iter().chain(maybe.iter().flat_map(|m| m.iter())) {
            let x = t.words();
            let next = x.get(w + 1).map_or(0, |n| n << 63);
            ch |= x[w] ^ (x[w] >> 1 | next);
        }
        change[w] = ch;
        if need_count {
            planes.fill(0);
            let mut batches = timelines.chunks_exact(16);
            for batch in batches.by_ref() {
                let d: [u64; 16] = std::array::from_fn(|i| batch[i].words()[w] & *m);
                bits::add16(&mut planes, &d);
            }
            for t in batches.remainder() {
                bits::add_to(&mut planes, t.words()[w] & *m);
            }
            *m &= bits::at_least(&planes, k);
        }
    }
    (mask, change)
}

/// Whole hours common to a whole group, per weekday, in the original W2Meet
/// `common_availabilities` shape.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct CommonHours {
    /// Monday first; each list ascending.
    days: [Vec<u8>; 7],
}

impl CommonHours {
    /// The common hours of a weekday.
    pub fn day(&self, day: Weekday) -> &[u8] {
        &self.days[day.num_days_from_monday() as usize]
    }

    /// `(day name, hours)` for all seven days, Monday first.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &[u8])> {
        DAY_NAMES
            .iter()
            .copied()
            .zip(self.days.iter().map(Vec::as_slice))
    }

    /// `{"monday": [9, 10], "tuesday": [], …}`: all seven days, Monday first,
    /// exactly as the original W2Meet answered.
    pub fn to_json(&self) -> Value {
        let map: Map<String, Value> = self
            .iter()
            .map(|(name, hours)| (name.to_owned(), Value::from(hours.to_vec())))
            .collect();
        Value::Object(map)
    }
}

/// For each weekday, the whole hours `h` (read in `tz`) such that every member
/// of `group` is free for all of local `[h:00, h+1:00)`.
///
/// Each weekday is read on its *first* date in the window (the window's local
/// dates from `from`), so for a window longer than a week later weeks are not
/// consulted, and for a shorter one the missing weekdays are empty. An hour
/// counts only if it happens (a skipped spring-forward hour never does) and
/// lies wholly inside the window; a repeated fall-back hour must be free both
/// times.
pub fn common_hours(group: &Group, tz: Tz) -> CommonHours {
    let window = group.window();
    let slots = window.slots();
    let mut all = vec![0u64; bits::words_for(slots)];
    bits::set_range(&mut all, 0, slots);
    for t in group.timelines() {
        for (a, x) in all.iter_mut().zip(t.words()) {
            *a &= x;
        }
    }
    let dates = window.days().min(7) as usize;
    let first_day = days_since_epoch(window.from());
    let target_lo = first_day * SLOTS_PER_DAY as i64;
    let target_hi = target_lo + (dates * SLOTS_PER_DAY) as i64;
    // `tz` may differ from the window's zone: scan two days either side so
    // every UTC slot that can map into the target dates is seen; slots
    // outside the window count as busy.
    let margin = 2 * SLOTS_PER_DAY as i64;
    let first = window.first_slot() - margin;
    let span = dates * SLOTS_PER_DAY + 2 * margin as usize;
    let mut seen = [[false; 24]; 7];
    let mut free = [[true; 24]; 7];
    for run in offset_runs(tz, first, span) {
        for rel in run.start..run.end {
            let utc = first + rel as i64;
            let local = utc + run.shift();
            if !(target_lo..target_hi).contains(&local) {
                continue;
            }
            let offset = (local - target_lo) as usize;
            let (day, hour) = (offset / SLOTS_PER_DAY, offset % SLOTS_PER_DAY / 12);
            let in_window = usize::try_from(utc - window.first_slot()).ok();
            seen[day][hour] = true;
            free[day][hour] &= in_window.is_some_and(|i| bits::get(&all, i));
        }
    }
    let mut out = CommonHours::default();
    for (day, date) in window.dates().take(dates).enumerate() {
        out.days[date.weekday().num_days_from_monday() as usize] = (0..24u8)
            .filter(|h| seen[day][*h as usize] && free[day][*h as usize])
            .collect();
    }
    out
}

/// Days from 1970-01-01 to `date` (negative before).
fn days_since_epoch(date: NaiveDate) -> i64 {
    i64::from(date.num_days_from_ce()) - 719_163
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pattern::WeeklyPattern;
    use crate::window::Window;
    use chrono_tz::{America, Asia, Europe, UTC};
    use serde_json::json;

    fn pattern(v: Value) -> WeeklyPattern {
        WeeklyPattern::from_json(&v).expect("valid test pattern")
    }

    fn week(tz: Tz) -> Window {
        let from = NaiveDate::from_ymd_opt(2025, 3, 3).expect("valid test date");
        Window::new(from, 7, tz).expect("valid test window")
    }

    fn instant(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("valid test instant")
            .with_timezone(&Utc)
    }

    fn group(members: &[(Value, Tz)], window: Window) -> Group {
        let patterns: Vec<WeeklyPattern> =
            members.iter().map(|(p, _)| pattern(p.clone())).collect();
        Group::lay_out(window, patterns.iter().zip(members.iter().map(|m| m.1)))
    }

    #[test]
    fn two_users_share_the_overlap_of_their_hours() {
        let g = group(
            &[
                (json!({"monday": [9, 10, 11]}), UTC),
                (json!({"monday": [10, 11, 12]}), UTC),
            ],
            week(UTC),
        );
        let all = Attendance::everyone(2).expect("valid");
        assert_eq!(
            intersect(&g, &all),
            vec![Interval {
                start: instant("2025-03-03T10:00:00Z"),
                end: instant("2025-03-03T12:00:00Z"),
                available: vec![0, 1],
                if_need_be: vec![],
            }]
        );
    }

    #[test]
    fn if_need_be_time_counts_as_free_and_splits_the_interval_where_it_starts() {
        let mut g = group(
            &[
                (json!({"monday": [9, 10]}), UTC),
                (json!({"monday": [9]}), UTC),
            ],
            week(UTC),
        );
        g.add_if_need_be(1, &pattern(json!({"monday": [9, 10, 11]})), UTC);
        let all = Attendance::everyone(2).expect("valid");
        let got: Vec<(String, String, Vec<usize>, Vec<usize>)> = intersect(&g, &all)
            .into_iter()
            .map(|iv| {
                (
                    iv.start.format("%H:%M").to_string(),
                    iv.end.format("%H:%M").to_string(),
                    iv.available,
                    iv.if_need_be,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("09:00".into(), "10:00".into(), vec![0, 1], vec![]),
                ("10:00".into(), "11:00".into(), vec![0, 1], vec![1]),
            ]
        );
        // The original shape counts if-need-be hours as common hours.
        assert_eq!(common_hours(&g, UTC).day(Weekday::Mon), &[9, 10]);
    }

    #[test]
    fn a_quorum_interval_splits_where_the_free_set_changes() {
        let g = group(
            &[
                (json!({"monday": [9, 10]}), UTC),
                (json!({"monday": [10, 11]}), UTC),
                (json!({"monday": [9, 10, 11]}), UTC),
            ],
            week(UTC),
        );
        let two = Attendance::new(3, &[], 2).expect("valid");
        let got: Vec<(u32, u32, Vec<usize>)> = intersect(&g, &two)
            .into_iter()
            .map(|i| {
                let h = |t: DateTime<Utc>| (t - g.window().start()).num_hours() as u32;
                (h(i.start), h(i.end), i.available)
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (9, 10, vec![0, 2]),
                (10, 11, vec![0, 1, 2]),
                (11, 12, vec![1, 2])
            ]
        );
    }

    #[test]
    fn a_required_user_limits_the_quorum_intervals_to_their_own_time() {
        let g = group(
            &[
                (json!({"monday": [9, 10]}), UTC),
                (json!({"monday": [10, 11]}), UTC),
                (json!({"monday": [9, 10, 11]}), UTC),
            ],
            week(UTC),
        );
        let need_1 = Attendance::new(3, &[1], 2).expect("valid");
        let starts: Vec<DateTime<Utc>> = intersect(&g, &need_1).iter().map(|i| i.start).collect();
        assert_eq!(
            starts,
            vec![
                instant("2025-03-03T10:00:00Z"),
                instant("2025-03-03T11:00:00Z")
            ]
        );
    }

    #[test]
    fn users_who_never_meet_have_no_intervals() {
        let g = group(
            &[
                (json!({"monday": [9]}), UTC),
                (json!({"tuesday": [9]}), UTC),
            ],
            week(UTC),
        );
        assert!(intersect(&g, &Attendance::everyone(2).expect("valid")).is_empty());
    }

    #[test]
    fn an_interval_running_to_the_end_of_the_window_ends_there() {
        let g = group(
            &[
                (json!({"sunday": ["22:00-24:00"]}), UTC),
                (json!({"sunday": ["23:00-24:00"]}), UTC),
            ],
            week(UTC),
        );
        let got = intersect(&g, &Attendance::everyone(2).expect("valid"));
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].end, g.window().end());
    }

    #[test]
    fn berlin_and_new_york_are_five_hours_apart_while_only_america_has_changed_clocks() {
        // 2025-03-10..14: New York is on EDT (-4), Berlin still on CET (+1):
        // 15:00 Berlin is 10:00 New York, not the usual 09:00.
        let from = NaiveDate::from_ymd_opt(2025, 3, 10).expect("valid test date");
        let w = Window::new(from, 1, UTC).expect("valid");
        let g = group(
            &[
                (json!({"monday": [15]}), Europe::Berlin),
                (json!({"monday": [10]}), America::New_York),
            ],
            w,
        );
        let got = intersect(&g, &Attendance::everyone(2).expect("valid"));
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].start, instant("2025-03-10T14:00:00Z"));
    }

    #[test]
    fn common_hours_have_the_original_shape_with_every_day_present() {
        let g = group(
            &[
                (json!({"monday": [9, 10, 11], "tuesday": [14]}), UTC),
                (json!({"monday": [9, 10, 11, 12], "tuesday": [14, 15]}), UTC),
            ],
            week(UTC),
        );
        assert_eq!(
            common_hours(&g, UTC).to_json().to_string(),
            r#"{"monday":[9,10,11],"tuesday":[14],"wednesday":[],"thursday":[],"friday":[],"saturday":[],"sunday":[]}"#
        );
    }

    #[test]
    fn common_hours_are_read_in_the_requested_zone() {
        // Two Kathmandu users free 09:00-11:00 local share 03:15-05:15 UTC:
        // only 04:00-05:00 is a whole UTC hour.
        let g = group(
            &[
                (json!({"monday": [9, 10]}), Asia::Kathmandu),
                (json!({"monday": [9, 10]}), Asia::Kathmandu),
            ],
            week(UTC),
        );
        assert_eq!(common_hours(&g, UTC).day(Weekday::Mon), &[4]);
        assert_eq!(
            common_hours(&g, Asia::Kathmandu).day(Weekday::Mon),
            &[9, 10]
        );
    }

    #[test]
    fn a_skipped_hour_is_never_common_and_a_repeated_one_must_be_free_twice() {
        let spring = NaiveDate::from_ymd_opt(2025, 3, 30).expect("valid test date");
        let w = Window::new(spring, 1, Europe::Berlin).expect("valid");
        let all_day = json!({"sunday": ["00:00-24:00"]});
        let g = group(
            &[
                (all_day.clone(), Europe::Berlin),
                (all_day.clone(), Europe::Berlin),
            ],
            w,
        );
        let hours = common_hours(&g, Europe::Berlin);
        assert_eq!(hours.day(Weekday::Sun).len(), 23);
        assert!(!hours.day(Weekday::Sun).contains(&2));

        let autumn = NaiveDate::from_ymd_opt(2025, 10, 26).expect("valid test date");
        let w = Window::new(autumn, 1, Europe::Berlin).expect("valid");
        // The UTC user is free 00:00-01:00Z, the first 02:00-03:00 in Berlin
        // only; the Berlin user is free all day.
        let g = group(
            &[(json!({"sunday": [0]}), UTC), (all_day, Europe::Berlin)],
            w,
        );
        assert!(
            common_hours(&g, Europe::Berlin)
                .day(Weekday::Sun)
                .is_empty()
        );
    }

    #[test]
    fn a_long_window_reads_each_weekday_on_its_first_date() {
        // From Wednesday 2025-03-05 for 14 days: Monday is read on 03-10,
        // Wednesday on 03-05.
        let from = NaiveDate::from_ymd_opt(2025, 3, 5).expect("valid test date");
        let w = Window::new(from, 14, UTC).expect("valid");
        let g = group(
            &[
                (json!({"monday": [8], "wednesday": [9]}), UTC),
                (json!({"monday": [8], "wednesday": [9]}), UTC),
            ],
            w,
        );
        let hours = common_hours(&g, UTC);
        assert_eq!(hours.day(Weekday::Mon), &[8]);
        assert_eq!(hours.day(Weekday::Wed), &[9]);
    }

    #[test]
    fn a_short_window_leaves_the_other_weekdays_empty() {
        let g = group(
            &[
                (json!({"tuesday": [8]}), UTC),
                (json!({"tuesday": [8]}), UTC),
            ],
            Window::new(NaiveDate::from_ymd_opt(2025, 3, 3).expect("valid"), 1, UTC)
                .expect("valid"),
        );
        assert!(common_hours(&g, UTC).iter().all(|(_, h)| h.is_empty()));
    }
}
