//! One user's pattern as a free/busy string, like Microsoft Graph's
//! `getSchedule` `availabilityView`.
//!
//! The window is read in the viewer's zone and cut into consecutive intervals
//! from its start; the last one may be shorter. Each interval is one
//! character: `'0'` when the user is free for all of it, `'1'` (Graph's
//! "tentative") when they can attend all of it but only if need be for
//! some of it (SPEC §10), `'2'` (Graph's "busy") otherwise. Without
//! if-need-be time the view has only `'0'` and `'2'`, as it always had. The pattern itself is laid out in the user's own zone,
//! so a Kathmandu user viewed from Berlin is free at the right Berlin times.

use chrono::NaiveDate;
use chrono_tz::Tz;

use crate::dated::{Busy, Override};
use crate::params::{IntervalMinutes, ParamError};
use crate::pattern::WeeklyPattern;
use crate::timeline::{Group, Timeline};
use crate::window::Window;

/// The user-service's `GET /users/{email}/freebusy`: `days` (1–366) local
/// dates from `from` in `view_tz`, one character per `interval_minutes`
/// (a multiple of 5 from 5 to 1440).
///
/// Errors name the offending parameter ([`ParamError::field`]): `days`,
/// `interval`, or `from` for dates outside chrono's range.
pub fn freebusy(
    pattern: &WeeklyPattern,
    user_tz: Tz,
    from: NaiveDate,
    days: u32,
    interval_minutes: u32,
    view_tz: Tz,
) -> Result<String, ParamError> {
    freebusy_dated(
        (pattern, &WeeklyPattern::default()),
        user_tz,
        (&[], &[]),
        from,
        days,
        interval_minutes,
        view_tz,
    )
}

/// [`freebusy`] of a person's plain and if-need-be weekly patterns, with
/// their dated overrides (read in `user_tz`) and booked busy time applied
/// (see `dated`).
pub fn freebusy_dated(
    (pattern, if_need_be): (&WeeklyPattern, &WeeklyPattern),
    user_tz: Tz,
    (overrides, busy): (&[Override], &[Busy]),
    from: NaiveDate,
    days: u32,
    interval_minutes: u32,
    view_tz: Tz,
) -> Result<String, ParamError> {
    let window = Window::new(from, days, view_tz)?;
    let interval = IntervalMinutes::new(interval_minutes)?;
    let mut group = Group::lay_out(window, [(pattern, user_tz)]);
    group.add_if_need_be(0, if_need_be, user_tz);
    group.apply_dated(0, user_tz, overrides, busy);
    let maybe = group.if_need_be().map(|m| &m[0]);
    Ok(availability_view_levels(
        &group.timelines()[0],
        maybe,
        interval,
    ))
}

/// The free/busy string of an already laid-out timeline (one level).
pub fn availability_view(timeline: &Timeline, interval: IntervalMinutes) -> String {
    availability_view_levels(timeline, None, interval)
}

/// The free/busy string of an available timeline and the part of it that
/// is free only if need be.
pub fn availability_view_levels(
    timeline: &Timeline,
    maybe: Option<&Timeline>,
    interval: IntervalMinutes,
) -> String {
    let step = interval.slots();
    (0..timeline.slots())
        .step_by(step)
        .map(|start| {
            let end = (start + step).min(timeline.slots());
            if !timeline.is_free_between(start, end) {
                '2'
            } else if maybe.is_some_and(|m| m.any_free_between(start, end)) {
                '1'
            } else {
                '0'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::{Asia, Europe, UTC};
    use serde_json::json;

    fn pattern(v: serde_json::Value) -> WeeklyPattern {
        WeeklyPattern::from_json(&v).expect("valid test pattern")
    }

    fn monday() -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 3, 3).expect("valid test date")
    }

    #[test]
    fn booked_time_and_a_free_override_show_in_the_view() {
        let p = pattern(json!({"monday": [9, 10]}));
        let at = |s: &str| {
            chrono::DateTime::parse_from_rfc3339(s)
                .unwrap()
                .with_timezone(&chrono::Utc)
        };
        let busy = [Busy {
            start: at("2025-03-03T09:00:00Z"),
            end: at("2025-03-03T10:00:00Z"),
        }];
        let free = [Override {
            from: monday().and_hms_opt(14, 0, 0).unwrap(),
            to: monday().and_hms_opt(15, 0, 0).unwrap(),
            kind: crate::dated::OverrideKind::Free,
        }];
        let none = WeeklyPattern::default();
        let view =
            freebusy_dated((&p, &none), UTC, (&free, &busy), monday(), 1, 60, UTC).expect("valid");
        assert_eq!(&view[8..16], "22022202");
    }

    #[test]
    fn if_need_be_time_is_tentative_and_plain_free_time_wins_where_both_are_given() {
        let p = pattern(json!({"monday": [9, 10]}));
        let maybe = pattern(json!({"monday": ["10:00-12:00"]}));
        let late = [Override {
            from: monday().and_hms_opt(15, 0, 0).unwrap(),
            to: monday().and_hms_opt(16, 0, 0).unwrap(),
            kind: crate::dated::OverrideKind::IfNeedBe,
        }];
        let view =
            freebusy_dated((&p, &maybe), UTC, (&late, &[]), monday(), 1, 60, UTC).expect("valid");
        assert_eq!(&view[8..17], "200122212");
        // An hour half free and half if-need-be is tentative as a whole.
        let half = pattern(json!({"monday": ["13:00-13:30"]}));
        let tail = pattern(json!({"monday": ["13:30-14:00"]}));
        let view =
            freebusy_dated((&half, &tail), UTC, (&[], &[]), monday(), 1, 60, UTC).expect("valid");
        assert_eq!(&view[13..14], "1");
    }

    #[test]
    fn a_day_in_hours_has_24_characters_free_only_in_the_free_hours() {
        let p = pattern(json!({"monday": [9, 10, 14]}));
        let view = freebusy(&p, UTC, monday(), 1, 60, UTC).expect("valid");
        assert_eq!(view, "222222222002220222222222");
    }

    #[test]
    fn an_interval_only_partly_free_is_busy() {
        let p = pattern(json!({"monday": ["09:00-09:45"]}));
        let view = freebusy(&p, UTC, monday(), 1, 30, UTC).expect("valid");
        assert_eq!(&view[17..21], "2022");
    }

    #[test]
    fn the_last_interval_may_be_partial() {
        let p = pattern(json!({"monday": ["00:00-24:00"]}));
        let view = freebusy(&p, UTC, monday(), 1, 25, UTC).expect("valid");
        // 1440 / 25 = 57.6: 57 full intervals and a 15-minute one.
        assert_eq!(view.len(), 58);
        assert!(view.chars().all(|c| c == '0'));
    }

    #[test]
    fn a_kathmandu_user_viewed_from_berlin_is_free_at_berlin_times() {
        // 09:00-10:00 +05:45 is 04:15-05:15 CET.
        let p = pattern(json!({"monday": [9]}));
        let view = freebusy(&p, Asia::Kathmandu, monday(), 1, 15, Europe::Berlin).expect("valid");
        let free: Vec<usize> = view.match_indices('0').map(|(i, _)| i).collect();
        assert_eq!(free, vec![17, 18, 19, 20]);
    }

    #[test]
    fn bad_parameters_name_their_field() {
        let p = WeeklyPattern::default();
        let days = freebusy(&p, UTC, monday(), 0, 30, UTC).expect_err("days=0");
        assert_eq!(days.field(), "days");
        let interval = freebusy(&p, UTC, monday(), 7, 7, UTC).expect_err("interval=7");
        assert_eq!(interval.field(), "interval");
    }

    #[test]
    fn a_week_at_a_day_per_character_has_seven_characters() {
        let p = pattern(json!({"tuesday": ["00:00-24:00"]}));
        assert_eq!(
            freebusy(&p, UTC, monday(), 7, 1440, UTC).as_deref(),
            Ok("2022222")
        );
    }
}
