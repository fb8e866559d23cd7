//! Candidate meetings, ranked: the suggestion service's answer.
//!
//! A candidate starts on the step grid (every `step` minutes from the window
//! start), lasts `duration`, and qualifies when every required user and at
//! least `min_attendees` users are each free for the *whole* meeting.
//! Candidates are ranked by a [`Preference`]; when none qualifies the answer
//! says why ([`EmptyReason`]) and offers up to three nearest relaxations
//! ([`Alternative`]).
//!
//! # Two levels (SPEC §10)
//!
//! In a group where somebody has if-need-be time ([`Group::if_need_be`]),
//! that time counts as free for qualifying, and the ranking becomes: most
//! attendees (if-need-be counted), then fewest attendees who come only if
//! need be, then the preference (`first`/`best`: earliest, `last`: latest,
//! `random`: a seeded shuffle). A group without if-need-be time ranks
//! exactly as before.
//!
//! # How it stays fast
//!
//! For each user we turn the timeline into "can start a meeting of this
//! length here" bits by walking its free runs (a run `[a, b)` allows starts
//! `a..=b-d`), mask that with the step grid, AND the required users, and only
//! where some start survives count everybody with the bit-sliced counter.
//! `best` never sorts all candidates: it bisects on the attendee count for
//! the threshold that yields `count` winners using word-wise `>= k` masks.

use std::fmt;

use chrono::{DateTime, Utc};

use crate::bits::{self, Counter};
use crate::params::{Attendance, Count, DurationMinutes, Preference, StepMinutes};
use crate::rng::SplitMix64;
use crate::timeline::{Group, Timeline};

/// What to suggest.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SuggestRequest {
    /// Meeting length.
    pub duration: DurationMinutes,
    /// Distance between candidate starts, counted from the window start.
    pub step: StepMinutes,
    /// How many suggestions to return at most.
    pub count: Count,
    /// Ranking.
    pub preference: Preference,
    /// Seed for [`Preference::Random`]; ignored otherwise.
    pub seed: u64,
    /// Who must attend.
    pub attendance: Attendance,
}

/// One candidate meeting.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    /// Start (inclusive), on the step grid.
    pub start: DateTime<Utc>,
    /// End (exclusive): `start + duration`.
    pub end: DateTime<Utc>,
    /// Users free for the whole meeting, ascending.
    pub attendees: Vec<usize>,
    /// Everyone else, ascending.
    pub missing: Vec<usize>,
    /// Those of `attendees` who can come only if need be (free only if need
    /// be for some of the meeting), ascending; empty in a single-level
    /// group.
    pub if_need_be: Vec<usize>,
    /// The share of the group that can attend, `attendees / n`, in `(0, 1]`:
    /// 1.0 means everyone. Comparable across requests of different sizes.
    pub score: f64,
}

/// Why no candidate qualified.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EmptyReason {
    /// These required users are never free in the window.
    RequiredAttendeeUnavailable {
        /// Their indexes, ascending.
        users: Vec<usize>,
    },
    /// No slot at all has the required users and the quorum free together.
    NoCommonAvailability,
    /// Common free time exists, but no stretch of it is as long as the
    /// meeting.
    DurationExceedsCommonWindows,
    /// Long-enough common free time exists, but no candidate start on the
    /// step grid falls inside it.
    StepMissesCommonWindows,
}

impl EmptyReason {
    /// The API code (`empty_reason` in the suggestion service's body).
    pub fn code(&self) -> &'static str {
        match self {
            EmptyReason::RequiredAttendeeUnavailable { .. } => "required_attendee_unavailable",
            EmptyReason::NoCommonAvailability => "no_common_availability",
            EmptyReason::DurationExceedsCommonWindows => "duration_exceeds_common_windows",
            EmptyReason::StepMissesCommonWindows => "step_misses_common_windows",
        }
    }
}

impl fmt::Display for EmptyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EmptyReason::RequiredAttendeeUnavailable { users } => write!(
                f,
                "required attendee(s) {users:?} are never free in the window"
            ),
            EmptyReason::NoCommonAvailability => {
                f.write_str("the required attendees and the quorum are never free at the same time")
            }
            EmptyReason::DurationExceedsCommonWindows => {
                f.write_str("no common free time is as long as the meeting")
            }
            EmptyReason::StepMissesCommonWindows => {
                f.write_str("no candidate start on the step grid fits the common free time")
            }
        }
    }
}

/// What an [`Alternative`] gave up to find a meeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Relaxation {
    /// The longest shorter meeting that fits (a multiple of 5 minutes).
    ShorterDuration {
        requested: DurationMinutes,
        relaxed: DurationMinutes,
    },
    /// Candidate starts every 5 minutes instead of every `step`.
    FinerStep {
        requested: StepMinutes,
        relaxed: StepMinutes,
    },
    /// The required users and the quorum are ignored: the slot where the
    /// most people can attend (its `missing` says who cannot).
    FewerAttendees,
}

impl Relaxation {
    /// The API code of what was relaxed.
    pub fn code(&self) -> &'static str {
        match self {
            Relaxation::ShorterDuration { .. } => "duration",
            Relaxation::FinerStep { .. } => "step",
            Relaxation::FewerAttendees => "attendees",
        }
    }
}

impl fmt::Display for Relaxation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Relaxation::ShorterDuration { requested, relaxed } => write!(
                f,
                "duration shortened from {} to {} minutes",
                requested.minutes(),
                relaxed.minutes()
            ),
            Relaxation::FinerStep { requested, relaxed } => write!(
                f,
                "candidate starts every {} instead of every {} minutes",
                relaxed.minutes(),
                requested.minutes()
            ),
            Relaxation::FewerAttendees => f.write_str(
                "required attendees and min_attendees ignored: the fewest people missing",
            ),
        }
    }
}

/// A meeting that would fit if one constraint were relaxed.
#[derive(Debug, Clone, PartialEq)]
pub struct Alternative {
    /// What was relaxed.
    pub relaxed: Relaxation,
    /// The top-ranked meeting under the relaxed constraint.
    pub suggestion: Suggestion,
}

/// The answer: suggestions, or why there are none and what would work.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestions {
    /// Up to `count` candidates in preference order.
    pub suggestions: Vec<Suggestion>,
    /// `Some` exactly when `suggestions` is empty.
    pub empty_reason: Option<EmptyReason>,
    /// Up to three relaxations, nearest first (shorter duration, finer step,
    /// fewer attendees); empty when there are suggestions.
    pub alternatives: Vec<Alternative>,
}

/// Ranks candidate meetings for `group`.
///
/// Order by preference: `First` earliest first; `Last` latest first; `Best`
/// most attendees first, then earliest; `Random` a uniformly random selection
/// in a uniformly random order, reproducible from `seed` (SplitMix64 with a
/// partial Fisher–Yates shuffle over the candidates in time order). Each
/// start is one candidate, so ties on time never arise.
///
/// # Panics
/// If `request.attendance` was validated for a group of another size.
pub fn suggest(group: &Group, request: &SuggestRequest) -> Suggestions {
    assert_eq!(
        request.attendance.group_size(),
        group.len(),
        "attendance was validated for another group"
    );
    let duration = request.duration.slots();
    let step = request.step.slots();
    let att = &request.attendance;
    let two_levels = group.if_need_be().is_some();
    let found = Candidates::find(
        group,
        duration,
        step,
        att.required(),
        att.min_attendees(),
        request.preference == Preference::Best || two_levels,
    );
    let picks = if two_levels {
        found.rank_two_levels(
            group,
            duration,
            request.preference,
            request.count.get(),
            request.seed,
        )
    } else {
        found.rank(
            group.len(),
            request.preference,
            request.count.get(),
            request.seed,
        )
    };
    if !picks.is_empty() {
        return Suggestions {
            suggestions: picks
                .into_iter()
                .map(|s| meeting(group, s, duration))
                .collect(),
            empty_reason: None,
            alternatives: Vec::new(),
        };
    }
    let (reason, alternatives) = explain(group, request);
    Suggestions {
        suggestions: Vec::new(),
        empty_reason: Some(reason),
        alternatives,
    }
}

/// The reason nothing fitted, and up to three relaxations.
fn explain(group: &Group, request: &SuggestRequest) -> (EmptyReason, Vec<Alternative>) {
    let duration = request.duration.slots();
    let step = request.step.slots();
    let att = &request.attendance;
    let (required, k) = (att.required(), att.min_attendees());
    let fits = |d: usize, s: usize| Candidates::find(group, d, s, required, k, false).any();
    let top = |d: usize, s: usize, required: &[usize], k: usize| {
        Candidates::find(
            group,
            d,
            s,
            required,
            k,
            request.preference == Preference::Best,
        )
        .rank(group.len(), request.preference, 1, request.seed)
        .first()
        .map(|start| meeting(group, *start, d))
    };

    let never: Vec<usize> = required
        .iter()
        .copied()
        .filter(|u| group.timelines()[*u].free_slots() == 0)
        .collect();
    let common = never.is_empty() && fits(1, 1);
    let off_grid = common && step > 1 && fits(duration, 1);
    let reason = if !never.is_empty() {
        EmptyReason::RequiredAttendeeUnavailable { users: never }
    } else if !common {
        EmptyReason::NoCommonAvailability
    } else if off_grid {
        EmptyReason::StepMissesCommonWindows
    } else {
        EmptyReason::DurationExceedsCommonWindows
    };

    let mut alternatives = Vec::new();
    if common {
        let lo = crate::explain::longest_fitting(group, request);
        let shorter = DurationMinutes::new(lo as u32 * crate::pattern::SLOT_MINUTES).ok();
        if let (Some(relaxed), Some(suggestion)) = (shorter, top(lo, step, required, k)) {
            alternatives.push(Alternative {
                relaxed: Relaxation::ShorterDuration {
                    requested: request.duration,
                    relaxed,
                },
                suggestion,
            });
        }
        let finer = StepMinutes::new(crate::pattern::SLOT_MINUTES).ok();
        if let (true, Some(relaxed)) = (off_grid, finer)
            && let Some(suggestion) = top(duration, 1, required, k)
        {
            alternatives.push(Alternative {
                relaxed: Relaxation::FinerStep {
                    requested: request.step,
                    relaxed,
                },
                suggestion,
            });
        }
    }
    if let Some(suggestion) = fewest_missing(group, request) {
        alternatives.push(Alternative {
            relaxed: Relaxation::FewerAttendees,
            suggestion,
        });
    }
    (reason, alternatives)
}

/// The on-grid meeting of the requested length that the most users can
/// attend (ranked by the preference among equals), ignoring who is required
/// and the quorum; `None` when nobody is ever free for that long.
fn fewest_missing(group: &Group, request: &SuggestRequest) -> Option<Suggestion> {
    let duration = request.duration.slots();
    let mut found = Candidates::find(group, duration, request.step.slots(), &[], 1, true);
    let counter = found.counter.as_ref()?;
    let most = found.largest_threshold(counter, group.len(), 1)?;
    for (w, m) in found.mask.iter_mut().enumerate() {
        *m &= counter.at_least(w, most);
    }
    let start = *found
        .rank(group.len(), request.preference, 1, request.seed)
        .first()?;
    Some(meeting(group, start, duration))
}

/// The meeting starting at slot `start` lasting `duration` slots.
pub(crate) fn meeting(group: &Group, start: usize, duration: usize) -> Suggestion {
    let end = start + duration;
    let (attendees, missing): (Vec<usize>, Vec<usize>) =
        (0..group.len()).partition(|u| group.timelines()[*u].is_free_between(start, end));
    let if_need_be = attendees
        .iter()
        .copied()
        .filter(|u| group.needs_if_need_be(*u, start, end))
        .collect();
    let window = group.window();
    Suggestion {
        start: window.slot_start(start),
        end: window.slot_start(end),
        score: attendees.len() as f64 / group.len().max(1) as f64,
        attendees,
        missing,
        if_need_be,
    }
}

/// The qualifying starts for one question, as a bitset over the window.
pub(crate) struct Candidates {
    pub(crate) mask: Vec<u64>,
    /// Per start, how many users are free for the whole meeting; only where
    /// `mask` is set, and only when counting was needed or asked for.
    counter: Option<Counter>,
}

impl Candidates {
    /// Starts on the `step` grid where all `required` users and at least `k`
    /// users are free for `duration` slots. Counts attendees per start when
    /// the quorum needs it or `want_counts` is set.
    pub(crate) fn find(
        group: &Group,
        duration: usize,
        step: usize,
        required: &[usize],
        k: usize,
        want_counts: bool,
    ) -> Self {
        let slots = group.window().slots();
        let mut mask = vec![0u64; bits::words_for(slots)];
        if duration == 0 || duration > slots {
            return Self {
                mask,
                counter: None,
            };
        }
        for s in (0..=slots - duration).step_by(step.max(1)) {
            mask[s / 64] |= 1 << (s % 64);
        }
        let mut scratch = vec![0u64; mask.len()];
        for &u in required {
            starts_within(&group.timelines()[u], duration, &mut scratch);
            for (m, x) in mask.iter_mut().zip(&scratch) {
                *m &= x;
            }
        }
        let need_count = k > required.len();
        let mut counter = None;
        if (need_count || want_counts) && mask.iter().any(|m| *m != 0) {
            let c = count_starts(group.timelines(), duration, &mask);
            if need_count {
                for (w, m) in mask.iter_mut().enumerate() {
                    *m &= c.at_least(w, k);
                }
            }
            counter = Some(c);
        }
        Self { mask, counter }
    }

    pub(crate) fn any(&self) -> bool {
        self.mask.iter().any(|m| *m != 0)
    }

    /// The starts with at least `v` attendees, counted.
    fn with_at_least(&self, counter: &Counter, v: usize) -> usize {
        self.mask
            .iter()
            .enumerate()
            .map(|(w, m)| (m & counter.at_least(w, v)).count_ones() as usize)
            .sum()
    }

    /// The largest `v` in `1..=n` such that at least `need` starts have `v`
    /// or more attendees; `None` if fewer than `need` starts qualify at all.
    fn largest_threshold(&self, counter: &Counter, n: usize, need: usize) -> Option<usize> {
        if self.with_at_least(counter, 1) < need {
            return None;
        }
        let (mut lo, mut hi) = (1, n.max(1));
        while lo < hi {
            let mid = (lo + hi).div_ceil(2);
            if self.with_at_least(counter, mid) >= need {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        Some(lo)
    }

    /// Up to `count` starts in preference order.
    fn rank(&self, n: usize, preference: Preference, count: usize, seed: u64) -> Vec<usize> {
        match preference {
            Preference::First => bits::ones(&self.mask).take(count).collect(),
            Preference::Last => bits::ones_rev(&self.mask).take(count).collect(),
            Preference::Random => {
                let mut all: Vec<usize> = bits::ones(&self.mask).collect();
                let mut rng = SplitMix64::new(seed);
                let picks = count.min(all.len());
                for i in 0..picks {
                    let j = i + rng.below((all.len() - i) as u64) as usize;
                    all.swap(i, j);
                }
                all.truncate(picks);
                all
            }
            Preference::Best => match &self.counter {
                Some(counter) => self.best(counter, n, count),
                // Counts are always gathered for `Best`; without them every
                // candidate ties, and ties go to the earliest.
                None => bits::ones(&self.mask).take(count).collect(),
            },
        }
    }

    /// Up to `count` starts in the two-level order (module doc): most
    /// attendees, then fewest if-need-be attendees, then `preference`.
    fn rank_two_levels(
        &self,
        group: &Group,
        duration: usize,
        preference: Preference,
        count: usize,
        seed: u64,
    ) -> Vec<usize> {
        let Some(counter) = &self.counter else {
            return Vec::new();
        };
        let plain = count_starts(&group.plain_timelines(), duration, &self.mask);
        let order: Vec<usize> = match preference {
            Preference::Last => bits::ones_rev(&self.mask).collect(),
            Preference::First | Preference::Best => bits::ones(&self.mask).collect(),
            Preference::Random => {
                let mut all: Vec<usize> = bits::ones(&self.mask).collect();
                let mut rng = SplitMix64::new(seed);
                for i in 0..all.len() {
                    let j = i + rng.below((all.len() - i) as u64) as usize;
                    all.swap(i, j);
                }
                all
            }
        };
        let mut keyed: Vec<((std::cmp::Reverse<usize>, usize), usize)> = order
            .into_iter()
            .map(|s| {
                let attending = counter.count(s);
                let if_need_be = attending - plain.count(s);
                ((std::cmp::Reverse(attending), if_need_be), s)
            })
            .collect();
        // Stable: equal keys keep the preference's order.
        keyed.sort_by_key(|(key, _)| *key);
        keyed.into_iter().take(count).map(|(_, s)| s).collect()
    }

    /// Up to `count` starts, most attendees first, then earliest.
    fn best(&self, counter: &Counter, n: usize, count: usize) -> Vec<usize> {
        let threshold = self.largest_threshold(counter, n, count).unwrap_or(1);
        // Everything above the threshold wins (fewer than `count` starts),
        // sorted; the rest are the earliest starts exactly at it.
        let above_mask: Vec<u64> = self
            .mask
            .iter()
            .enumerate()
            .map(|(w, m)| m & counter.at_least(w, threshold + 1))
            .collect();
        let mut above: Vec<(usize, usize)> = bits::ones(&above_mask)
            .map(|s| (counter.count(s), s))
            .collect();
        above.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut out: Vec<usize> = above.into_iter().map(|(_, s)| s).take(count).collect();
        let at: Vec<u64> = self
            .mask
            .iter()
            .enumerate()
            .map(|(w, m)| m & counter.at_least(w, threshold) & !counter.at_least(w, threshold + 1))
            .collect();
        let room = count - out.len();
        out.extend(bits::ones(&at).take(room));
        out
    }
}

/// Per start in `mask`, how many of `timelines` are free for all of
/// `duration` slots from it (zero outside `mask`).
pub(crate) fn count_starts(timelines: &[Timeline], duration: usize, mask: &[u64]) -> Counter {
    let nw = mask.len();
    let mut c = Counter::new(nw, timelines.len());
    // Sixteen users' start bitsets at a time, so each word's counts go
    // through the carry-save adders in one step.
    let mut batch = vec![0u64; 16 * nw];
    for users in timelines.chunks(16) {
        for (t, out) in users.iter().zip(batch.chunks_exact_mut(nw)) {
            starts_within(t, duration, out);
        }
        for (w, m) in mask.iter().enumerate().filter(|(_, m)| **m != 0) {
            if users.len() == 16 {
                let d: [u64; 16] = std::array::from_fn(|j| batch[j * nw + w] & m);
                c.add16(w, &d);
            } else {
                for j in 0..users.len() {
                    c.add(w, batch[j * nw + w] & m);
                }
            }
        }
    }
    c
}

/// Writes into `out` the slots at which `timeline`'s user could start a
/// meeting of `duration` slots: `a..=b-duration` for each free run `[a, b)`.
pub(crate) fn starts_within(timeline: &Timeline, duration: usize, out: &mut [u64]) {
    out.fill(0);
    for (a, b) in bits::runs(timeline.words()) {
        if b - a >= duration {
            bits::set_range(out, a, b - duration + 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pattern::WeeklyPattern;
    use crate::window::Window;
    use chrono::NaiveDate;
    use chrono_tz::{Tz, UTC};
    use serde_json::{Value, json};

    fn group(patterns: &[Value]) -> Group {
        let from = NaiveDate::from_ymd_opt(2025, 3, 3).expect("valid test date");
        let w = Window::new(from, 7, UTC).expect("valid test window");
        let parsed: Vec<WeeklyPattern> = patterns
            .iter()
            .map(|p| WeeklyPattern::from_json(p).expect("valid test pattern"))
            .collect();
        Group::lay_out(w, parsed.iter().map(|p| (p, Tz::UTC)))
    }

    fn request(n: usize, duration: u32, preference: Preference) -> SuggestRequest {
        SuggestRequest {
            duration: DurationMinutes::new(duration).expect("valid"),
            step: StepMinutes::new(30).expect("valid"),
            count: Count::new(3).expect("valid"),
            preference,
            seed: 42,
            attendance: Attendance::everyone(n).expect("valid"),
        }
    }

    /// `(day offset, "HH:MM")` of each suggestion's start, for readable
    /// assertions.
    fn starts(g: &Group, s: &Suggestions) -> Vec<String> {
        s.suggestions
            .iter()
            .map(|m| {
                let min = (m.start - g.window().start()).num_minutes();
                format!("d{} {:02}:{:02}", min / 1440, min % 1440 / 60, min % 60)
            })
            .collect()
    }

    fn two_overlapping() -> Group {
        group(&[
            json!({"monday": [9, 10, 11], "wednesday": [14, 15]}),
            json!({"monday": [10, 11], "wednesday": [14, 15, 16]}),
        ])
    }

    #[test]
    fn first_suggests_the_earliest_common_starts_on_the_step_grid() {
        let g = two_overlapping();
        let s = suggest(&g, &request(2, 60, Preference::First));
        assert_eq!(starts(&g, &s), vec!["d0 10:00", "d0 10:30", "d0 11:00"]);
        assert_eq!(s.empty_reason, None);
        assert_eq!(s.suggestions[0].attendees, vec![0, 1]);
        assert_eq!(s.suggestions[0].score, 1.0);
    }

    #[test]
    fn last_suggests_the_latest_first() {
        let g = two_overlapping();
        let s = suggest(&g, &request(2, 60, Preference::Last));
        assert_eq!(starts(&g, &s), vec!["d2 15:00", "d2 14:30", "d2 14:00"]);
    }

    #[test]
    fn random_is_reproducible_for_a_seed_and_varies_with_it() {
        let g = two_overlapping();
        let mut r = request(2, 30, Preference::Random);
        r.count = Count::new(5).expect("valid");
        let a = suggest(&g, &r);
        assert_eq!(a, suggest(&g, &r));
        assert_eq!(a.suggestions.len(), 5);
        let differs = (0..10u64).any(|seed| {
            r.seed = seed;
            suggest(&g, &r) != a
        });
        assert!(differs);
    }

    #[test]
    fn best_puts_the_most_attendees_first_then_the_earliest() {
        let g = group(&[
            json!({"monday": [9], "tuesday": [9]}),
            json!({"monday": [9], "tuesday": [9]}),
            json!({"tuesday": [9]}),
        ]);
        let mut r = request(3, 60, Preference::Best);
        r.attendance = Attendance::new(3, &[], 2).expect("valid");
        let s = suggest(&g, &r);
        assert_eq!(starts(&g, &s), vec!["d1 09:00", "d0 09:00"]);
        assert_eq!(s.suggestions[0].attendees, vec![0, 1, 2]);
        assert_eq!(s.suggestions[1].missing, vec![2]);
        assert!((s.suggestions[1].score - 2.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn a_quorum_admits_meetings_some_users_miss() {
        let g = group(&[
            json!({"monday": [9]}),
            json!({"monday": [9]}),
            json!({"friday": [9]}),
        ]);
        let mut r = request(3, 60, Preference::First);
        r.attendance = Attendance::new(3, &[], 2).expect("valid");
        let s = suggest(&g, &r);
        assert_eq!(starts(&g, &s), vec!["d0 09:00"]);
        assert_eq!(s.suggestions[0].missing, vec![2]);
    }

    #[test]
    fn a_required_user_who_is_never_free_is_named() {
        let g = group(&[json!({"monday": [9]}), json!({})]);
        let s = suggest(&g, &request(2, 60, Preference::First));
        assert_eq!(
            s.empty_reason,
            Some(EmptyReason::RequiredAttendeeUnavailable { users: vec![1] })
        );
        assert_eq!(
            s.empty_reason.as_ref().map(EmptyReason::code),
            Some("required_attendee_unavailable")
        );
        // Only user 0 can come: the fewest-missing alternative says so.
        assert_eq!(s.alternatives.len(), 1);
        assert_eq!(s.alternatives[0].relaxed, Relaxation::FewerAttendees);
        assert_eq!(s.alternatives[0].suggestion.missing, vec![1]);
    }

    #[test]
    fn users_free_at_different_times_have_no_common_availability() {
        let g = group(&[json!({"monday": [9]}), json!({"monday": [10]})]);
        let s = suggest(&g, &request(2, 60, Preference::First));
        assert_eq!(s.empty_reason, Some(EmptyReason::NoCommonAvailability));
        assert_eq!(s.alternatives.len(), 1);
        assert_eq!(s.alternatives[0].relaxed.code(), "attendees");
    }

    #[test]
    fn a_meeting_longer_than_any_overlap_offers_the_longest_that_fits() {
        let g = group(&[
            json!({"monday": ["09:00-10:40"]}),
            json!({"monday": ["09:30-12:00"]}),
        ]);
        let s = suggest(&g, &request(2, 90, Preference::First));
        assert_eq!(
            s.empty_reason,
            Some(EmptyReason::DurationExceedsCommonWindows)
        );
        let shorter = &s.alternatives[0];
        assert_eq!(
            shorter.relaxed,
            Relaxation::ShorterDuration {
                requested: DurationMinutes::new(90).expect("valid"),
                relaxed: DurationMinutes::new(70).expect("valid"),
            }
        );
        assert_eq!(
            shorter.relaxed.to_string(),
            "duration shortened from 90 to 70 minutes"
        );
        assert_eq!(
            (shorter.suggestion.end - shorter.suggestion.start).num_minutes(),
            70
        );
        assert_eq!(s.alternatives[1].relaxed, Relaxation::FewerAttendees);
        assert_eq!(s.alternatives.len(), 2);
    }

    #[test]
    fn a_common_window_between_grid_starts_offers_a_finer_step() {
        let g = group(&[
            json!({"monday": ["09:10-10:10"]}),
            json!({"monday": ["09:00-11:00"]}),
        ]);
        let s = suggest(&g, &request(2, 60, Preference::First));
        assert_eq!(s.empty_reason, Some(EmptyReason::StepMissesCommonWindows));
        let relaxed: Vec<&str> = s.alternatives.iter().map(|a| a.relaxed.code()).collect();
        assert_eq!(relaxed, vec!["duration", "step", "attendees"]);
        let finer = &s.alternatives[1].suggestion;
        assert_eq!(
            (finer.start - g.window().start()).num_minutes(),
            9 * 60 + 10
        );
        // With the 30-minute grid, 09:30-10:10 is the longest: 40 minutes.
        assert_eq!(
            s.alternatives[0].relaxed,
            Relaxation::ShorterDuration {
                requested: DurationMinutes::new(60).expect("valid"),
                relaxed: DurationMinutes::new(40).expect("valid"),
            }
        );
    }

    #[test]
    fn a_meeting_may_end_exactly_at_the_window_end() {
        let g = group(&[
            json!({"sunday": ["23:00-24:00"]}),
            json!({"sunday": ["23:00-24:00"]}),
        ]);
        let s = suggest(&g, &request(2, 60, Preference::First));
        assert_eq!(s.suggestions.len(), 1);
        assert_eq!(s.suggestions[0].end, g.window().end());
    }

    #[test]
    fn a_whole_day_meeting_fits_only_a_whole_free_day() {
        let all_tuesday = json!({"tuesday": ["00:00-24:00"], "wednesday": ["00:05-24:00"]});
        let g = group(&[all_tuesday.clone(), all_tuesday]);
        let s = suggest(&g, &request(2, 1440, Preference::First));
        assert_eq!(starts(&g, &s), vec!["d1 00:00"]);
    }
}
