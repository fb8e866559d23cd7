//! `PUT /users/{email}/overrides`: a person's dated overrides, parsed into
//! the scheduling core's [`Override`] (local wall-clock ranges in their
//! zone).
//!
//! Each override names its time one of three ways:
//! - `{"date": "2031-03-03"}`: that whole local day;
//! - `{"from": "2031-03-03", "to": "2031-03-07"}`: whole days, both included;
//! - `{"from": "2031-03-03T09:00", "to": "2031-03-03T12:30"}`: a local range,
//!   minutes a multiple of 5, `to` excluded;
//!
//! and `kind`: `busy` (not available then, whatever the weekly pattern
//! says), `free` (available then) or `if_need_be` (available then, but only
//! if need be: SPEC §10). A later override wins where two
//! overlap; booked meetings are busy whatever the overrides say.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, Timelike};
use scheduling::{Override, OverrideKind};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::user::InvalidField;

/// Most overrides one person keeps.
pub const MAX_OVERRIDES: usize = 200;
/// Longest single override.
const MAX_SPAN_DAYS: i64 = 366;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OverridesInput {
    /// The whole list (replacing the previous one), at most 200.
    pub overrides: Vec<OverrideInput>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OverrideInput {
    /// A whole local day, `YYYY-MM-DD`.
    pub date: Option<String>,
    /// Start: a date (whole days) or a local time `YYYY-MM-DDTHH:MM`.
    pub from: Option<String>,
    /// End: a date (included) or a local time (excluded), like `from`.
    pub to: Option<String>,
    /// `busy`, `free` or `if_need_be`.
    pub kind: String,
}

/// An override as answered: always a local range.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OverrideView {
    /// `YYYY-MM-DDTHH:MM`, in the person's zone.
    pub from: String,
    /// `YYYY-MM-DDTHH:MM`, excluded.
    pub to: String,
    /// `busy`, `free` or `if_need_be`.
    pub kind: String,
}

impl OverrideView {
    pub fn of(o: &Override) -> OverrideView {
        OverrideView {
            from: o.from.format("%Y-%m-%dT%H:%M").to_string(),
            to: o.to.format("%Y-%m-%dT%H:%M").to_string(),
            kind: match o.kind {
                OverrideKind::Busy => "busy",
                OverrideKind::Free => "free",
                OverrideKind::IfNeedBe => "if_need_be",
            }
            .to_owned(),
        }
    }
}

enum Point {
    Day(NaiveDate),
    Time(NaiveDateTime),
}

/// Years an override may name (the scheduling windows' own range).
const YEARS: std::ops::RangeInclusive<i32> = 1970..=9998;

fn point(raw: &str) -> Result<Point, String> {
    let raw = raw.trim();
    let point = if let Ok(d) = NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        Point::Day(d)
    } else {
        let t = NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M")
            .map_err(|_| "must be a date YYYY-MM-DD or a local time YYYY-MM-DDTHH:MM".to_owned())?;
        if t.minute() % 5 != 0 {
            return Err("minutes must be a multiple of 5".to_owned());
        }
        Point::Time(t)
    };
    let year = match &point {
        Point::Day(d) => d.year(),
        Point::Time(t) => t.year(),
    };
    if !YEARS.contains(&year) {
        return Err(format!("years {} to {} only", YEARS.start(), YEARS.end()));
    }
    Ok(point)
}

fn midnight(d: NaiveDate) -> NaiveDateTime {
    d.and_hms_opt(0, 0, 0).expect("midnight exists")
}

fn one(input: &OverrideInput) -> Result<Override, (&'static str, String)> {
    let kind = match input.kind.trim().to_ascii_lowercase().as_str() {
        "busy" => OverrideKind::Busy,
        "free" => OverrideKind::Free,
        "if_need_be" => OverrideKind::IfNeedBe,
        _ => {
            return Err(("kind", "kind must be busy, free or if_need_be".to_owned()));
        }
    };
    let (from, to) = match (&input.date, &input.from, &input.to) {
        (Some(d), None, None) => match point(d).map_err(|m| ("date", m))? {
            Point::Day(d) => (midnight(d), midnight(d) + Duration::days(1)),
            Point::Time(_) => return Err(("date", "date must be YYYY-MM-DD".to_owned())),
        },
        (None, Some(f), Some(t)) => {
            match (
                point(f).map_err(|m| ("from", m))?,
                point(t).map_err(|m| ("to", m))?,
            ) {
                (Point::Day(f), Point::Day(t)) => (midnight(f), midnight(t) + Duration::days(1)),
                (Point::Time(f), Point::Time(t)) => (f, t),
                _ => {
                    return Err((
                        "to",
                        "from and to must both be dates or both be local times".to_owned(),
                    ));
                }
            }
        }
        _ => {
            return Err(("date", "give either date, or from and to".to_owned()));
        }
    };
    if to <= from {
        return Err(("to", "to must be after from".to_owned()));
    }
    if to - from > Duration::days(MAX_SPAN_DAYS) {
        return Err((
            "to",
            format!("an override spans at most {MAX_SPAN_DAYS} days"),
        ));
    }
    Ok(Override { from, to, kind })
}

/// Parses the list, every problem located at `body.overrides.{i}.{field}`.
pub fn parse(input: &OverridesInput) -> Result<Vec<Override>, Vec<InvalidField>> {
    if input.overrides.len() > MAX_OVERRIDES {
        return Err(vec![InvalidField {
            loc: vec!["body".into(), "overrides".into()],
            msg: format!("at most {MAX_OVERRIDES} overrides"),
        }]);
    }
    let mut out = Vec::with_capacity(input.overrides.len());
    let mut problems = Vec::new();
    for (i, o) in input.overrides.iter().enumerate() {
        match one(o) {
            Ok(o) => out.push(o),
            Err((field, msg)) => problems.push(InvalidField {
                loc: vec![
                    "body".into(),
                    "overrides".into(),
                    i.to_string(),
                    field.into(),
                ],
                msg,
            }),
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(
        date: Option<&str>,
        from: Option<&str>,
        to: Option<&str>,
        kind: &str,
    ) -> OverrideInput {
        OverrideInput {
            date: date.map(Into::into),
            from: from.map(Into::into),
            to: to.map(Into::into),
            kind: kind.into(),
        }
    }

    #[test]
    fn a_date_a_day_range_and_a_time_range_become_local_ranges() {
        let parsed = parse(&OverridesInput {
            overrides: vec![
                input(Some("2031-03-03"), None, None, "busy"),
                input(None, Some("2031-03-04"), Some("2031-03-05"), "Free"),
                input(
                    None,
                    Some("2031-03-06T09:00"),
                    Some("2031-03-06T12:30"),
                    "free",
                ),
            ],
        })
        .unwrap();
        let views: Vec<(String, String)> = parsed
            .iter()
            .map(OverrideView::of)
            .map(|v| (v.from, v.to))
            .collect();
        assert_eq!(
            views,
            [
                ("2031-03-03T00:00".into(), "2031-03-04T00:00".into()),
                ("2031-03-04T00:00".into(), "2031-03-06T00:00".into()),
                ("2031-03-06T09:00".into(), "2031-03-06T12:30".into()),
            ]
        );
    }

    #[test]
    fn dates_outside_the_scheduling_years_are_refused_not_overflowed() {
        for date in ["+262143-12-31", "1969-12-31", "9999-12-31"] {
            let problems = parse(&OverridesInput {
                overrides: vec![input(Some(date), None, None, "busy")],
            })
            .unwrap_err();
            assert_eq!(problems[0].loc.join("."), "body.overrides.0.date", "{date}");
        }
    }

    #[test]
    fn every_bad_override_is_located() {
        let problems = parse(&OverridesInput {
            overrides: vec![
                input(Some("2031-03-03"), None, None, "maybe"),
                input(
                    None,
                    Some("2031-03-06T09:03"),
                    Some("2031-03-06T12:30"),
                    "free",
                ),
                input(None, Some("2031-03-06"), Some("2031-03-06T12:30"), "free"),
                input(
                    None,
                    Some("2031-03-06T12:00"),
                    Some("2031-03-06T09:00"),
                    "busy",
                ),
                input(None, None, None, "busy"),
            ],
        })
        .unwrap_err();
        let locs: Vec<String> = problems.iter().map(|p| p.loc.join(".")).collect();
        assert_eq!(
            locs,
            [
                "body.overrides.0.kind",
                "body.overrides.1.from",
                "body.overrides.2.to",
                "body.overrides.3.to",
                "body.overrides.4.date"
            ]
        );
    }
}
