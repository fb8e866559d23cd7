//! Property tests: the fast core against slow, obviously-correct references.
//!
//! Each reference follows the definition literally: convert every UTC slot
//! to local time with chrono-tz, look the slot up in the weekly pattern,
//! and brute-force intersections and candidates with nested loops. Inputs
//! are random weekly patterns in zones chosen for their awkward offsets and
//! daylight-saving rules, over random windows that often cross a DST change.

use std::cmp::Reverse;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, TimeDelta, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use proptest::prelude::*;
use scheduling::{
    Attendance, Count, DayFormat, DaySlots, DurationMinutes, EmptyReason, Group, IntervalMinutes,
    Preference, Relaxation, StepMinutes, SuggestRequest, Timeline, WeeklyPattern, Window,
    availability_view, common_hours, freebusy, intersect, suggest,
};

/// Zones with DST at 01:00 UTC (Berlin, London), at local 02:00 (New York),
/// at midnight (Santiago, Havana, Sao Paulo until 2019, Gaza), by 30 minutes
/// (Lord Howe), with 45- and 30-minute offsets (Kathmandu, Chatham, Eucla,
/// St John's, Tehran, Kolkata), the date line (Apia, Kiritimati, Pago Pago),
/// and Casablanca's Ramadan changes.
const ZONES: &[Tz] = &[
    Tz::UTC,
    Tz::Europe__Berlin,
    Tz::Europe__London,
    Tz::America__New_York,
    Tz::America__Santiago,
    Tz::America__Havana,
    Tz::America__Sao_Paulo,
    Tz::America__St_Johns,
    Tz::Asia__Gaza,
    Tz::Asia__Kathmandu,
    Tz::Asia__Kolkata,
    Tz::Asia__Tehran,
    Tz::Australia__Lord_Howe,
    Tz::Australia__Eucla,
    Tz::Australia__Sydney,
    Tz::Pacific__Chatham,
    Tz::Pacific__Apia,
    Tz::Pacific__Kiritimati,
    Tz::Pacific__Pago_Pago,
    Tz::Africa__Casablanca,
];

fn zone() -> impl Strategy<Value = Tz> {
    prop::sample::select(ZONES)
}

/// Dates from 2005 to 2035, half of them in months where DST usually
/// changes.
fn date() -> impl Strategy<Value = NaiveDate> {
    let month = prop_oneof![1u32..=12, prop::sample::select(vec![3u32, 4, 9, 10, 11])];
    (2005i32..2036, month, 1u32..=28)
        .prop_map(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d).expect("day <= 28 exists"))
}

fn day() -> impl Strategy<Value = DaySlots> {
    let intervals = prop::collection::vec((0usize..288, 1usize..=150), 0..4).prop_map(|v| {
        let mut d = DaySlots::EMPTY;
        for (start, len) in v {
            d.insert_range(start, (start + len).min(288));
        }
        d
    });
    let hours = prop::collection::vec(0usize..24, 0..8).prop_map(|v| {
        let mut d = DaySlots::EMPTY;
        for h in v {
            d.insert_range(h * 12, h * 12 + 12);
        }
        d
    });
    prop_oneof![
        1 => Just(DaySlots::EMPTY),
        1 => Just(DaySlots::full()),
        4 => intervals,
        2 => hours,
    ]
}

fn pattern() -> impl Strategy<Value = WeeklyPattern> {
    prop::array::uniform7(day())
        .prop_map(|days| WeeklyPattern::from_days(days, [DayFormat::Intervals; 7]))
}

/// A group of 2–5 users, each with a pattern and a zone.
fn members() -> impl Strategy<Value = Vec<(WeeklyPattern, Tz)>> {
    prop::collection::vec((pattern(), zone()), 2..=5)
}

// ---------------------------------------------------------------- references

/// The earliest instant whose local time is at or after `date` 00:00 while
/// the minute before was still the previous day: when the date began.
fn reference_midnight(date: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let midnight = date.and_hms_opt(0, 0, 0).expect("midnight");
    let local = |u: DateTime<Utc>| u.with_timezone(&tz).naive_local();
    let guess = midnight.and_utc() - TimeDelta::hours(16);
    (0..32 * 60)
        .map(|m| guess + TimeDelta::minutes(m))
        .find(|u| local(*u) >= midnight && local(*u - TimeDelta::minutes(1)) < midnight)
        .expect("every date in range begins")
}

/// Local wall-clock time at the start of each slot of a window.
fn local_times(start: DateTime<Utc>, slots: usize, tz: Tz) -> Vec<NaiveDateTime> {
    (0..slots)
        .map(|i| {
            (start + TimeDelta::minutes(5 * i as i64))
                .with_timezone(&tz)
                .naive_local()
        })
        .collect()
}

/// Per slot: is the user free, by converting each slot to local time.
fn reference_free(p: &WeeklyPattern, local: &[NaiveDateTime]) -> Vec<bool> {
    local
        .iter()
        .map(|t| {
            let slot = (t.hour() * 60 + t.minute()) as usize / 5;
            p.day(t.weekday()).contains(slot)
        })
        .collect()
}

/// The reference free matrix of a group over `window`.
fn reference_matrix(members: &[(WeeklyPattern, Tz)], window: &Window) -> Vec<Vec<bool>> {
    members
        .iter()
        .map(|(p, tz)| reference_free(p, &local_times(window.start(), window.slots(), *tz)))
        .collect()
}

fn lay_out(members: &[(WeeklyPattern, Tz)], window: Window) -> Group {
    Group::lay_out(window, members.iter().map(|(p, tz)| (p, *tz)))
}

/// Users free in slot `i`.
fn free_at(free: &[Vec<bool>], i: usize) -> Vec<usize> {
    (0..free.len()).filter(|u| free[*u][i]).collect()
}

/// Users free for all of `s..s + d`.
fn free_throughout(free: &[Vec<bool>], s: usize, d: usize) -> Vec<usize> {
    (0..free.len())
        .filter(|u| free[*u][s..s + d].iter().all(|f| *f))
        .collect()
}

/// Every candidate `(start, attendees)` on the grid, by brute force.
fn reference_candidates(
    free: &[Vec<bool>],
    d: usize,
    step: usize,
    required: &[usize],
    k: usize,
) -> Vec<(usize, Vec<usize>)> {
    let slots = free[0].len();
    (0..slots)
        .step_by(step)
        .filter(|s| s + d <= slots)
        .map(|s| (s, free_throughout(free, s, d)))
        .filter(|(_, att)| att.len() >= k && required.iter().all(|r| att.contains(r)))
        .collect()
}

fn reference_rank(
    mut c: Vec<(usize, Vec<usize>)>,
    preference: Preference,
) -> Vec<(usize, Vec<usize>)> {
    match preference {
        Preference::First | Preference::Random => c.sort_by_key(|x| x.0),
        Preference::Last => c.sort_by_key(|x| Reverse(x.0)),
        Preference::Best => c.sort_by_key(|x| (Reverse(x.1.len()), x.0)),
    }
    c
}

fn slot_of(window: &Window, t: DateTime<Utc>) -> usize {
    ((t - window.start()).num_minutes() / 5) as usize
}

/// 64 cases keep the debug test run to a few seconds; set `PROPTEST_CASES`
/// for a deeper search.
fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    ProptestConfig::with_cases(cases)
}

// ---------------------------------------------------------------- properties

proptest! {
    #![proptest_config(config())]

    #[test]
    fn windows_run_from_the_first_instant_of_the_first_date_to_that_of_the_day_after_the_last(
        from in date(), days in 1u32..=40, tz in zone(),
    ) {
        let w = Window::new(from, days, tz).expect("valid window");
        let until = from + TimeDelta::days(i64::from(days));
        prop_assert_eq!(w.start(), reference_midnight(from, tz));
        prop_assert_eq!(w.end(), reference_midnight(until, tz));
        prop_assert_eq!(w.slots() as i64, (w.end() - w.start()).num_minutes() / 5);
    }

    #[test]
    fn layout_matches_converting_every_slot_to_local_time(
        members in members(), from in date(), days in 1u32..=24, tz in zone(),
    ) {
        let window = Window::new(from, days, tz).expect("valid window");
        let group = lay_out(&members, window);
        let expected = reference_matrix(&members, &window);
        for (u, (p, user_tz)) in members.iter().enumerate() {
            let t = &group.timelines()[u];
            let got: Vec<bool> = (0..window.slots()).map(|i| t.is_free(i)).collect();
            prop_assert_eq!(&got, &expected[u], "user {} in {}", u, user_tz.name());
            prop_assert_eq!(t, &Timeline::lay_out(p, *user_tz, &window));
        }
    }

    #[test]
    fn intervals_are_the_maximal_runs_of_one_qualifying_free_set(
        members in members(), from in date(), days in 1u32..=24, tz in zone(),
        required_bits in 0u8..32, k_seed in 0usize..5,
    ) {
        let n = members.len();
        let window = Window::new(from, days, tz).expect("valid window");
        let free = reference_matrix(&members, &window);
        let required: Vec<usize> = (0..n).filter(|u| required_bits >> u & 1 == 1).collect();
        let k = 1 + k_seed % n;
        let attendance = Attendance::new(n, &required, k).expect("valid attendance");

        let mut expected: Vec<(usize, usize, Vec<usize>)> = Vec::new();
        for i in 0..window.slots() {
            let set = free_at(&free, i);
            if set.len() < k || !required.iter().all(|r| set.contains(r)) {
                continue;
            }
            match expected.last_mut() {
                Some((_, end, last)) if *end == i && *last == set => *end = i + 1,
                _ => expected.push((i, i + 1, set)),
            }
        }
        let got: Vec<(usize, usize, Vec<usize>)> = intersect(&lay_out(&members, window), &attendance)
            .into_iter()
            .map(|iv| (slot_of(&window, iv.start), slot_of(&window, iv.end), iv.available))
            .collect();
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn suggestions_match_brute_force_candidates_and_ranking(
        members in members(), from in date(), days in 1u32..=16, tz in zone(),
        required_bits in 0u8..32, k_seed in 0usize..5,
        duration in prop_oneof![1u32..=24, 1u32..=288], step in prop::sample::select(vec![1u32, 2, 3, 6, 9, 12]),
        count in 1u32..=8, preference in prop::sample::select(vec![Preference::First, Preference::Last, Preference::Best, Preference::Random]),
        seed in any::<u64>(),
    ) {
        let n = members.len();
        let window = Window::new(from, days, tz).expect("valid window");
        let free = reference_matrix(&members, &window);
        let required: Vec<usize> = (0..n).filter(|u| required_bits >> u & 1 == 1).collect();
        let k = 1 + k_seed % n;
        let (d, st) = (duration as usize, step as usize);
        let request = SuggestRequest {
            duration: DurationMinutes::new(duration * 5).expect("valid"),
            step: StepMinutes::new(step * 5).expect("valid"),
            count: Count::new(count).expect("valid"),
            preference,
            seed,
            attendance: Attendance::new(n, &required, k).expect("valid"),
        };
        let group = lay_out(&members, window);
        let got = suggest(&group, &request);
        let candidates = reference_candidates(&free, d, st, &required, k);

        if !candidates.is_empty() {
            prop_assert_eq!(got.empty_reason.as_ref(), None);
            prop_assert!(got.alternatives.is_empty());
            let summary: Vec<(usize, Vec<usize>)> = got.suggestions.iter()
                .map(|s| (slot_of(&window, s.start), s.attendees.clone()))
                .collect();
            for s in &got.suggestions {
                prop_assert_eq!(slot_of(&window, s.end) - slot_of(&window, s.start), d);
                prop_assert_eq!(s.attendees.len() + s.missing.len(), n);
                prop_assert!((s.score - s.attendees.len() as f64 / n as f64).abs() < 1e-12);
            }
            prop_assert_eq!(summary.len(), candidates.len().min(count as usize));
            if preference == Preference::Random {
                for s in &summary {
                    prop_assert!(candidates.contains(s));
                }
                let mut starts: Vec<usize> = summary.iter().map(|s| s.0).collect();
                starts.sort_unstable();
                starts.dedup();
                prop_assert_eq!(starts.len(), summary.len());
                prop_assert_eq!(&got, &suggest(&group, &request));
            } else {
                let mut expected = reference_rank(candidates, preference);
                expected.truncate(count as usize);
                prop_assert_eq!(summary, expected);
            }
            return Ok(());
        }

        // Nothing fits: check what the reason claims against brute-force facts
        // about the reference matrix, computed here in code of its own rather
        // than by replaying the fast path's decision ladder.
        prop_assert!(got.suggestions.is_empty());
        let slots = window.slots();
        // (a) The required users free in no slot at all.
        let never_free: Vec<usize> = required
            .iter()
            .copied()
            .filter(|u| !free[*u].contains(&true))
            .collect();
        // (b) Some single slot has every required user and at least k users free.
        let common_slot = (0..slots).any(|i| {
            let here: Vec<usize> = (0..n).filter(|u| free[*u][i]).collect();
            here.len() >= k && required.iter().all(|r| here.contains(r))
        });
        // (c) The longest meeting, in slots, that some start (any slot, step 1)
        // has every required user and at least k users free for throughout:
        // extend from each start while the users free so far still qualify.
        let mut longest = 0;
        for s in 0..slots {
            let mut throughout: Vec<usize> = (0..n).collect();
            let mut len = 0;
            while s + len < slots {
                throughout.retain(|u| free[*u][s + len]);
                if throughout.len() < k || !required.iter().all(|r| throughout.contains(r)) {
                    break;
                }
                len += 1;
            }
            longest = longest.max(len);
        }
        // (d) Some start on the step grid fits the requested meeting.
        let on_grid = !candidates.is_empty();
        prop_assert!(!on_grid);
        // The facts agree with each other: a one-slot meeting is a common
        // slot; a required user never free rules every slot out; with step 1
        // every start is on the grid, so nothing fitting means L < d.
        prop_assert_eq!(common_slot, longest >= 1);
        prop_assert!(never_free.is_empty() || !common_slot);
        prop_assert!(st > 1 || longest < d);

        // Each arm asserts what its reason claims and what the reasons ranked
        // before it deny. The claims are exhaustive and mutually exclusive
        // over the empty case: (a) non-empty is claimed only by the first; the
        // other three need (a) empty and split on (b) false, (b) with L < d,
        // and (b) with L >= d (which forces step > 1 by the check above). So
        // exactly one reason fits any facts, and any wrong reason fails here.
        match got.empty_reason.as_ref() {
            Some(EmptyReason::RequiredAttendeeUnavailable { users }) => {
                prop_assert!(!users.is_empty(), "names no user");
                prop_assert_eq!(users, &never_free);
            }
            Some(EmptyReason::NoCommonAvailability) => {
                prop_assert!(never_free.is_empty(), "{:?} are never free", never_free);
                prop_assert!(!common_slot, "some slot has everyone needed");
            }
            Some(EmptyReason::DurationExceedsCommonWindows) => {
                prop_assert!(never_free.is_empty(), "{:?} are never free", never_free);
                prop_assert!(common_slot, "no slot has everyone needed");
                prop_assert!(longest < d, "{} slots fit off the grid, {} asked", longest, d);
            }
            Some(EmptyReason::StepMissesCommonWindows) => {
                prop_assert!(never_free.is_empty(), "{:?} are never free", never_free);
                prop_assert!(common_slot, "no slot has everyone needed");
                prop_assert!(longest >= d, "only {} slots fit, {} asked", longest, d);
                prop_assert!(st > 1, "step 1 cannot miss");
            }
            None => prop_assert!(false, "no suggestions and no reason"),
        }
        let common = never_free.is_empty() && common_slot;
        let off_grid = common && st > 1 && longest >= d;

        let mut alternatives = got.alternatives.iter();
        if common {
            if let Some(shorter) = (1..d).rev().find(|d2| !reference_candidates(&free, *d2, st, &required, k).is_empty()) {
                let alt = alternatives.next().expect("a shorter duration");
                prop_assert_eq!(alt.relaxed, Relaxation::ShorterDuration {
                    requested: request.duration,
                    relaxed: DurationMinutes::new(shorter as u32 * 5).expect("valid"),
                });
                let c = reference_candidates(&free, shorter, st, &required, k);
                let s = (slot_of(&window, alt.suggestion.start), alt.suggestion.attendees.clone());
                if preference == Preference::Random {
                    prop_assert!(c.contains(&s));
                } else {
                    prop_assert_eq!(&s, &reference_rank(c, preference)[0]);
                }
            }
            if off_grid {
                let alt = alternatives.next().expect("a finer step");
                prop_assert_eq!(alt.relaxed.code(), "step");
                let c = reference_candidates(&free, d, 1, &required, k);
                let s = (slot_of(&window, alt.suggestion.start), alt.suggestion.attendees.clone());
                prop_assert!(c.contains(&s));
            }
        }
        let anyone = reference_candidates(&free, d, st, &[], 1);
        let most = anyone.iter().map(|c| c.1.len()).max();
        match (most, alternatives.next()) {
            (Some(most), Some(alt)) => {
                prop_assert_eq!(alt.relaxed, Relaxation::FewerAttendees);
                prop_assert_eq!(alt.suggestion.attendees.len(), most);
                let s = (slot_of(&window, alt.suggestion.start), alt.suggestion.attendees.clone());
                prop_assert!(anyone.contains(&s));
                if preference == Preference::First || preference == Preference::Best {
                    let earliest = anyone.iter().find(|c| c.1.len() == most).map(|c| c.0);
                    prop_assert_eq!(Some(s.0), earliest);
                }
            }
            (None, None) => {}
            (most, alt) => prop_assert!(false, "fewest-missing {:?} vs {:?}", most, alt),
        }
        prop_assert!(alternatives.next().is_none());
    }

    #[test]
    fn freebusy_marks_an_interval_free_only_if_every_slot_in_it_is(
        p in pattern(), user_tz in zone(), view_tz in zone(), from in date(),
        days in 1u32..=10, interval in 1u32..=60,
    ) {
        let view = freebusy(&p, user_tz, from, days, interval * 5, view_tz).expect("valid");
        let window = Window::new(from, days, view_tz).expect("valid window");
        let free = reference_free(&p, &local_times(window.start(), window.slots(), user_tz));
        let expected: String = free
            .chunks(interval as usize)
            .map(|c| if c.iter().all(|f| *f) { '0' } else { '2' })
            .collect();
        prop_assert_eq!(&view, &expected);
        let t = Timeline::lay_out(&p, user_tz, &window);
        prop_assert_eq!(view, availability_view(&t, IntervalMinutes::new(interval * 5).expect("valid")));
    }

    #[test]
    fn common_hours_are_the_local_hours_wholly_inside_the_window_where_everyone_is_free(
        members in members(), from in date(), days in 1u32..=10, window_tz in zone(), tz in zone(),
    ) {
        let window = Window::new(from, days, window_tz).expect("valid window");
        let group = lay_out(&members, window);
        let free = reference_matrix(&members, &window);
        let dates: Vec<NaiveDate> = window.dates().take(7).collect();
        // Scan two days either side; slots outside the window count as busy.
        let margin = 2 * 288;
        let scan_start = window.start() - TimeDelta::minutes(5 * margin as i64);
        let mut seen = [[false; 24]; 7];
        let mut all = [[true; 24]; 7];
        for (j, local) in local_times(scan_start, window.slots() + 2 * margin, tz).iter().enumerate() {
            let Some(day) = dates.iter().position(|d| *d == local.date()) else { continue };
            let h = local.hour() as usize;
            let i = j as i64 - margin as i64;
            let ok = i >= 0 && (i as usize) < window.slots() && free.iter().all(|f| f[i as usize]);
            seen[day][h] = true;
            all[day][h] &= ok;
        }
        let got = common_hours(&group, tz);
        for (day, date) in dates.iter().enumerate() {
            let expected: Vec<u8> = (0..24u8).filter(|h| seen[day][*h as usize] && all[day][*h as usize]).collect();
            prop_assert_eq!(got.day(date.weekday()), &expected[..], "{}", date);
        }
        prop_assert_eq!(got.iter().filter(|(_, h)| !h.is_empty()).count(),
            dates.iter().filter(|d| !got.day(d.weekday()).is_empty()).count());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: config().cases / 2, ..config() })]

    /// Groups of 16 or more go through the carry-save counting path.
    #[test]
    fn large_groups_count_quorums_like_brute_force(
        members in prop::collection::vec((pattern(), zone()), 16..=40),
        from in date(), days in 1u32..=3, tz in zone(), k_seed in 0usize..40,
        duration in 1u32..=24,
    ) {
        let n = members.len();
        let window = Window::new(from, days, tz).expect("valid window");
        let free = reference_matrix(&members, &window);
        let k = 1 + k_seed % n;
        let attendance = Attendance::new(n, &[], k).expect("valid attendance");
        let group = lay_out(&members, window);

        let got: Vec<(usize, Vec<usize>)> = intersect(&group, &attendance)
            .into_iter()
            .map(|iv| (slot_of(&window, iv.start), iv.available))
            .collect();
        let mut expected: Vec<(usize, Vec<usize>)> = Vec::new();
        let mut previous: Option<Vec<usize>> = None;
        for i in 0..window.slots() {
            let set = free_at(&free, i);
            let qualifies = set.len() >= k;
            if qualifies && previous.as_ref() != Some(&set) {
                expected.push((i, set.clone()));
            }
            previous = qualifies.then_some(set);
        }
        prop_assert_eq!(got, expected);

        let request = SuggestRequest {
            duration: DurationMinutes::new(duration * 5).expect("valid"),
            step: StepMinutes::new(5).expect("valid"),
            count: Count::new(50).expect("valid"),
            preference: Preference::Best,
            seed: 0,
            attendance,
        };
        let got: Vec<(usize, Vec<usize>)> = suggest(&group, &request)
            .suggestions
            .iter()
            .map(|s| (slot_of(&window, s.start), s.attendees.clone()))
            .collect();
        let mut expected = reference_rank(
            reference_candidates(&free, duration as usize, 1, &[], k),
            Preference::Best,
        );
        expected.truncate(50);
        prop_assert_eq!(got, expected);
    }
}

/// The reference midnight itself, checked on the known awkward dates, so a
/// wrong reference cannot make the window property vacuous.
#[test]
fn the_reference_midnight_knows_the_awkward_dates() {
    let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).expect("valid date");
    let at = |s: &str| {
        DateTime::parse_from_rfc3339(s)
            .expect("valid instant")
            .with_timezone(&Utc)
    };
    assert_eq!(
        reference_midnight(d(2024, 9, 8), Tz::America__Santiago),
        at("2024-09-08T04:00:00Z")
    );
    assert_eq!(
        reference_midnight(d(2011, 12, 31), Tz::Pacific__Apia),
        at("2011-12-30T10:00:00Z")
    );
    assert_eq!(
        reference_midnight(d(2025, 6, 2), Tz::Asia__Kathmandu),
        Tz::Asia__Kathmandu
            .with_ymd_and_hms(2025, 6, 2, 0, 0, 0)
            .single()
            .expect("exists")
            .with_timezone(&Utc)
    );
}

/// The empty reason for `minutes`-long meetings every `step` minutes, earliest
/// first, over Monday 3 March 2025 in UTC, for users with these weekly
/// patterns (API JSON).
fn empty_reason(
    patterns: &[serde_json::Value],
    required: &[usize],
    k: usize,
    minutes: u32,
    step: u32,
) -> Option<EmptyReason> {
    let from = NaiveDate::from_ymd_opt(2025, 3, 3).expect("valid date");
    let window = Window::new(from, 1, Tz::UTC).expect("valid window");
    let members: Vec<(WeeklyPattern, Tz)> = patterns
        .iter()
        .map(|p| (WeeklyPattern::from_json(p).expect("valid pattern"), Tz::UTC))
        .collect();
    let request = SuggestRequest {
        duration: DurationMinutes::new(minutes).expect("valid"),
        step: StepMinutes::new(step).expect("valid"),
        count: Count::new(3).expect("valid"),
        preference: Preference::First,
        seed: 0,
        attendance: Attendance::new(patterns.len(), required, k).expect("valid"),
    };
    let got = suggest(&lay_out(&members, window), &request);
    assert!(got.suggestions.is_empty(), "{:?}", got.suggestions);
    got.empty_reason
}

#[test]
fn required_users_never_free_are_named_and_only_they() {
    use serde_json::json;
    let users = [
        json!({"monday": ["09:00-11:00"]}),
        json!({}),
        json!({"monday": ["09:00-11:00"]}),
        json!({}),
    ];
    // User 2 is free but not required; users 1 and 3 are required and never free.
    assert_eq!(
        empty_reason(&users, &[0, 1, 3], 1, 60, 30),
        Some(EmptyReason::RequiredAttendeeUnavailable { users: vec![1, 3] })
    );
}

#[test]
fn a_quorum_never_free_together_has_no_common_availability() {
    use serde_json::json;
    let users = [
        json!({"monday": ["09:00-10:00"]}),
        json!({"monday": ["10:00-11:00"]}),
        json!({"monday": ["11:00-12:00"]}),
    ];
    assert_eq!(
        empty_reason(&users, &[], 2, 30, 5),
        Some(EmptyReason::NoCommonAvailability)
    );
}

#[test]
fn a_meeting_longer_than_the_overlap_exceeds_the_common_windows() {
    use serde_json::json;
    let users = [
        json!({"monday": ["09:00-10:00"]}),
        json!({"monday": ["09:30-11:00"]}),
    ];
    // 30 common minutes at any start, a 60-minute meeting asked.
    assert_eq!(
        empty_reason(&users, &[0, 1], 2, 60, 5),
        Some(EmptyReason::DurationExceedsCommonWindows)
    );
}

#[test]
fn an_hour_of_common_time_between_grid_starts_is_missed_by_the_step() {
    use serde_json::json;
    let users = [
        json!({"monday": ["09:10-10:10"]}),
        json!({"monday": ["09:00-11:00"]}),
    ];
    // An hour from 09:10 fits, but starts fall every 15 minutes from 00:00.
    assert_eq!(
        empty_reason(&users, &[0, 1], 2, 60, 15),
        Some(EmptyReason::StepMissesCommonWindows)
    );
}

// ------------------------------------------------- two levels, explanations

/// A group of 2–5 users, each with a plain pattern, an if-need-be pattern
/// (often empty) and a zone.
fn two_level_members() -> impl Strategy<Value = Vec<(WeeklyPattern, WeeklyPattern, Tz)>> {
    let maybe = prop_oneof![1 => Just(WeeklyPattern::default()), 2 => pattern()];
    prop::collection::vec((pattern(), maybe, zone()), 2..=5)
}

fn lay_out_two_levels(members: &[(WeeklyPattern, WeeklyPattern, Tz)], window: Window) -> Group {
    let mut group = Group::lay_out(window, members.iter().map(|(p, _, tz)| (p, *tz)));
    for (i, (_, maybe, tz)) in members.iter().enumerate() {
        group.add_if_need_be(i, maybe, *tz);
    }
    group
}

/// Per member and slot: (available, free only if need be), read from the
/// definition: available when either pattern has the local slot; if need be
/// only when the plain pattern does not.
fn reference_levels(
    members: &[(WeeklyPattern, WeeklyPattern, Tz)],
    window: &Window,
) -> (Vec<Vec<bool>>, Vec<Vec<bool>>) {
    members
        .iter()
        .map(|(p, q, tz)| {
            let local = local_times(window.start(), window.slots(), *tz);
            let plain = reference_free(p, &local);
            let maybe = reference_free(q, &local);
            let available = plain.iter().zip(&maybe).map(|(a, b)| *a || *b).collect();
            let only_maybe = plain.iter().zip(&maybe).map(|(a, b)| !*a && *b).collect();
            (available, only_maybe)
        })
        .unzip()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn two_level_intervals_split_where_the_free_or_if_need_be_set_changes(
        members in two_level_members(), from in date(), days in 1u32..=10, tz in zone(),
        k_seed in 0usize..5,
    ) {
        let n = members.len();
        let window = Window::new(from, days, tz).expect("valid window");
        let (free, maybe) = reference_levels(&members, &window);
        let k = 1 + k_seed % n;
        let attendance = Attendance::new(n, &[], k).expect("valid attendance");
        let mut expected: Vec<(usize, usize, Vec<usize>, Vec<usize>)> = Vec::new();
        for i in 0..window.slots() {
            let set = free_at(&free, i);
            let tentative = free_at(&maybe, i);
            if set.len() < k {
                continue;
            }
            match expected.last_mut() {
                Some((_, end, s, t)) if *end == i && *s == set && *t == tentative => *end = i + 1,
                _ => expected.push((i, i + 1, set, tentative)),
            }
        }
        let got: Vec<(usize, usize, Vec<usize>, Vec<usize>)> =
            intersect(&lay_out_two_levels(&members, window), &attendance)
                .into_iter()
                .map(|iv| (slot_of(&window, iv.start), slot_of(&window, iv.end), iv.available, iv.if_need_be))
                .collect();
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn two_level_freebusy_is_tentative_where_a_free_interval_needs_if_need_be_time(
        p in pattern(), q in pattern(), user_tz in zone(), view_tz in zone(), from in date(),
        days in 1u32..=5, interval in 1u32..=36,
    ) {
        let view = scheduling::freebusy_dated((&p, &q), user_tz, (&[], &[]), from, days, interval * 5, view_tz)
            .expect("valid");
        let window = Window::new(from, days, view_tz).expect("valid window");
        let (free, maybe) = reference_levels(&[(p, q, user_tz)], &window);
        let expected: String = free[0]
            .chunks(interval as usize)
            .zip(maybe[0].chunks(interval as usize))
            .map(|(f, m)| match (f.iter().all(|x| *x), m.iter().any(|x| *x)) {
                (false, _) => '2',
                (true, true) => '1',
                (true, false) => '0',
            })
            .collect();
        prop_assert_eq!(view, expected);
    }

    #[test]
    fn two_level_ranking_is_attendees_then_fewest_if_need_be_then_preference(
        members in two_level_members(), from in date(), days in 1u32..=6, tz in zone(),
        required_bits in 0u8..32, k_seed in 0usize..5,
        duration in 1u32..=24, step in prop::sample::select(vec![1u32, 3, 6]),
        count in 1u32..=8, preference in prop::sample::select(vec![Preference::First, Preference::Last, Preference::Best, Preference::Random]),
        seed in any::<u64>(),
    ) {
        let n = members.len();
        let window = Window::new(from, days, tz).expect("valid window");
        let (free, maybe) = reference_levels(&members, &window);
        let required: Vec<usize> = (0..n).filter(|u| required_bits >> u & 1 == 1).collect();
        let k = 1 + k_seed % n;
        let d = duration as usize;
        let request = SuggestRequest {
            duration: DurationMinutes::new(duration * 5).expect("valid"),
            step: StepMinutes::new(step * 5).expect("valid"),
            count: Count::new(count).expect("valid"),
            preference,
            seed,
            attendance: Attendance::new(n, &required, k).expect("valid"),
        };
        let got = suggest(&lay_out_two_levels(&members, window), &request);
        let two_levels = maybe.iter().any(|m| m.contains(&true));
        // (start, attendees, if-need-be attendees), ranked literally.
        let mut expected: Vec<(usize, Vec<usize>, Vec<usize>)> =
            reference_candidates(&free, d, step as usize, &required, k)
                .into_iter()
                .map(|(s, att)| {
                    let tentative = att.iter().copied().filter(|u| maybe[*u][s..s + d].contains(&true)).collect();
                    (s, att, tentative)
                })
                .collect();
        let key = |c: &(usize, Vec<usize>, Vec<usize>)| (Reverse(c.1.len()), c.2.len());
        let got: Vec<(usize, Vec<usize>, Vec<usize>)> = got.suggestions.iter()
            .map(|s| (slot_of(&window, s.start), s.attendees.clone(), s.if_need_be.clone()))
            .collect();
        prop_assert_eq!(got.len(), expected.len().min(count as usize));
        if !two_levels {
            for s in &got {
                prop_assert!(s.2.is_empty());
            }
            return Ok(());
        }
        match preference {
            Preference::Random => {
                for s in &got {
                    prop_assert!(expected.contains(s));
                }
                for pair in got.windows(2) {
                    prop_assert!(key(&pair[0]) <= key(&pair[1]), "{:?}", pair);
                }
                // Nothing left out ranks before the last one taken.
                if let Some(last) = got.last() {
                    let left_out = expected.iter().filter(|c| !got.contains(c));
                    for c in left_out {
                        prop_assert!(key(c) >= key(last));
                    }
                }
            }
            Preference::Last => {
                expected.sort_by_key(|c| (key(c), Reverse(c.0)));
                expected.truncate(count as usize);
                prop_assert_eq!(got, expected);
            }
            Preference::First | Preference::Best => {
                expected.sort_by_key(|c| (key(c), c.0));
                expected.truncate(count as usize);
                prop_assert_eq!(got, expected);
            }
        }
    }
}

proptest! {
    #![proptest_config(config())]

    /// The smallest change is checked against brute force: every subset of
    /// people, smallest first, made free for the whole window.
    #[test]
    fn the_smallest_change_is_minimal_by_brute_force(
        members in prop::collection::vec((pattern(), zone()), 2..=5),
        from in date(), days in 1u32..=2, tz in zone(),
        required_bits in 0u8..32, k_seed in 0usize..5,
        duration in 1u32..=36, step in prop::sample::select(vec![1u32, 6]),
    ) {
        let n = members.len();
        let window = Window::new(from, days, tz).expect("valid window");
        let required: Vec<usize> = (0..n).filter(|u| required_bits >> u & 1 == 1).collect();
        let k = 1 + k_seed % n;
        let request = |duration: u32, k: usize| SuggestRequest {
            duration: DurationMinutes::new(duration * 5).expect("valid"),
            step: StepMinutes::new(step * 5).expect("valid"),
            count: Count::new(1).expect("valid"),
            preference: Preference::First,
            seed: 0,
            attendance: Attendance::new(n, &required, k).expect("valid"),
        };
        let group = lay_out(&members, window);
        let asked = request(duration, k);
        let answer = suggest(&group, &asked);
        let explanation = scheduling::explain(&group, &asked, !answer.suggestions.is_empty());
        let fits = |g: &Group, d: u32, k: usize| !suggest(g, &request(d, k)).suggestions.is_empty();
        let with_free = |users: &[usize], slots: std::ops::Range<usize>| {
            let timelines = group.timelines().iter().enumerate().map(|(u, t)| {
                if users.contains(&u) {
                    Timeline::from_fn(t.slots(), |i| t.is_free(i) || slots.contains(&i))
                } else {
                    t.clone()
                }
            }).collect();
            Group::from_timelines(window, timelines).expect("same window")
        };

        // Blockers, by their definition over the reference matrix.
        let free = reference_matrix(&members, &window);
        let grid = reference_candidates(&free, duration as usize, step as usize, &[], 0);
        let most = grid.iter().map(|c| c.1.len()).max().filter(|m| *m > 0);
        let best: Vec<&(usize, Vec<usize>)> = grid.iter().filter(|c| Some(c.1.len()) == most).collect();
        let reachable = best.iter().any(|c| required.iter().all(|r| c.1.contains(r)));
        let mut blockers: Vec<(usize, usize)> = if reachable { Vec::new() } else {
            required.iter().map(|r| (*r, best.iter().filter(|c| !c.1.contains(r)).count()))
                .filter(|(_, missed)| *missed > 0).collect()
        };
        blockers.sort_by_key(|(u, missed)| (Reverse(*missed), *u));
        let got: Vec<(usize, usize)> = explanation.blockers.iter().map(|b| (b.user, b.slots)).collect();
        prop_assert_eq!(got, blockers);

        if !answer.suggestions.is_empty() {
            prop_assert!(explanation.smallest_change.is_none());
            return Ok(());
        }
        let change = explanation.smallest_change.expect("nothing fits");
        let minimal = (1..=n).find(|size| {
            subsets(n, *size).any(|s| fits(&with_free(&s, 0..window.slots()), duration, k))
        });
        match (&change.people, minimal) {
            (Some(people), Some(size)) => {
                prop_assert_eq!(people.users.len(), size);
                // Those people, free just for the meeting named, make it fit.
                let (a, b) = (slot_of(&window, people.start), slot_of(&window, people.end));
                prop_assert_eq!(b - a, duration as usize);
                prop_assert!(fits(&with_free(&people.users, a..b), duration, k));
            }
            (None, None) => {}
            (people, size) => prop_assert!(false, "{:?} vs brute force {:?}", people, size),
        }
        let shorter = (1..duration).rev().find(|d| fits(&group, *d, k));
        prop_assert_eq!(change.duration.map(|d| d.minutes() / 5), shorter);
        let quorum = (required.len().max(1)..k).rev().find(|q| fits(&group, duration, *q));
        prop_assert_eq!(change.min_attendees, quorum);
    }
}

/// Every `size`-element subset of `0..n`.
fn subsets(n: usize, size: usize) -> impl Iterator<Item = Vec<usize>> {
    (0u32..1 << n)
        .filter(move |m| m.count_ones() as usize == size)
        .map(move |m| (0..n).filter(|u| m >> u & 1 == 1).collect())
}
