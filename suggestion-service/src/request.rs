//! A suggestion request — query string or JSON body — split into what the
//! availability-service validates (the group and window, forwarded as they
//! came) and what this service validates itself (duration, step, count,
//! preference, seed).

use scheduling::{Count, DurationMinutes, Preference, StepMinutes};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use utoipa::{IntoParams, ToSchema};
use w2meet_platform::ErrorDetail;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SuggestQuery {
    /// First user (original form).
    #[serde(rename = "userId1")]
    #[param(rename = "userId1")]
    pub user_id1: Option<String>,
    /// Second user (original form).
    #[serde(rename = "userId2")]
    #[param(rename = "userId2")]
    pub user_id2: Option<String>,
    /// Comma-separated emails, 2–1000 distinct.
    pub users: Option<String>,
    /// First day `YYYY-MM-DD` in `tz`; default the coming Monday-to-Sunday week.
    pub from: Option<String>,
    /// Days in the window, 1–366; default 7.
    pub days: Option<String>,
    /// IANA zone; default UTC.
    pub tz: Option<String>,
    /// Comma-separated emails that must attend; default everyone.
    pub required: Option<String>,
    /// Quorum k of n; default n.
    pub min_attendees: Option<String>,
    /// Meeting length in minutes, a multiple of 5 from 5 to 1440; default 60.
    pub duration: Option<String>,
    /// Number of suggestions, 1–50.
    pub count: Option<String>,
    /// `first` | `last` | `random` | `best`, overriding stored preferences.
    pub preference: Option<String>,
    /// Minutes between candidate starts; default 30.
    pub step: Option<String>,
    /// Seed for `random`; default 0.
    pub seed: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct SuggestBody {
    #[serde(rename = "userId1")]
    pub user_id1: Option<String>,
    #[serde(rename = "userId2")]
    pub user_id2: Option<String>,
    pub users: Option<Vec<String>>,
    pub from: Option<String>,
    #[schema(value_type = Option<u32>)]
    pub days: Option<Value>,
    pub tz: Option<String>,
    pub required: Option<Vec<String>>,
    #[schema(value_type = Option<u32>)]
    pub min_attendees: Option<Value>,
    #[schema(value_type = Option<u32>)]
    pub duration: Option<Value>,
    #[schema(value_type = Option<u32>)]
    pub count: Option<Value>,
    pub preference: Option<String>,
    #[schema(value_type = Option<u32>)]
    pub step: Option<Value>,
    #[schema(value_type = Option<u64>)]
    pub seed: Option<Value>,
}

/// A parsed request.
#[derive(Debug, Clone)]
pub struct SuggestParams {
    /// Where the parameters came from (`query` or `body`), for error locations.
    pub at: &'static str,
    /// The body for the availability-service's `POST /availabilities`.
    pub group: Value,
    /// `required` as given, lower-cased (mapped to indexes once the group's
    /// order is known).
    pub required: Option<Vec<String>>,
    pub min_attendees: Option<usize>,
    pub duration: DurationMinutes,
    pub step: StepMinutes,
    pub count: Option<Count>,
    pub preference: Option<Preference>,
    pub seed: u64,
}

impl SuggestParams {
    /// The original W2Meet behaviour: neither `count` nor `preference`.
    pub fn original_mode(&self) -> bool {
        self.count.is_none() && self.preference.is_none()
    }

    pub fn from_query(q: SuggestQuery) -> Result<SuggestParams, Vec<ErrorDetail>> {
        let list = |s: Option<String>| {
            s.map(|s| {
                s.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
        };
        Self::parse(
            "query",
            SuggestBody {
                user_id1: q.user_id1,
                user_id2: q.user_id2,
                users: list(q.users),
                from: q.from,
                days: q.days.map(Value::String),
                tz: q.tz,
                required: list(q.required),
                min_attendees: q.min_attendees.map(Value::String),
                duration: q.duration.map(Value::String),
                count: q.count.map(Value::String),
                preference: q.preference,
                step: q.step.map(Value::String),
                seed: q.seed.map(Value::String),
            },
        )
    }

    pub fn from_body(b: SuggestBody) -> Result<SuggestParams, Vec<ErrorDetail>> {
        Self::parse("body", b)
    }

    fn parse(at: &'static str, b: SuggestBody) -> Result<SuggestParams, Vec<ErrorDetail>> {
        let mut errors = Vec::new();
        let mut num = |v: &Option<Value>, name: &'static str| -> Option<u64> {
            scheduling::whole_number(name, v.as_ref())
                .map_err(|e| {
                    errors.push(ErrorDetail::new(
                        [at, e.field()],
                        e.to_string(),
                        "value_error",
                    ))
                })
                .ok()
                .flatten()
        };
        let duration = num(&b.duration, "duration");
        let step = num(&b.step, "step");
        let count = num(&b.count, "count");
        let seed = num(&b.seed, "seed").unwrap_or(0);
        let min_attendees = num(&b.min_attendees, "min_attendees").map(|k| k as usize);
        let minutes = |v: Option<u64>| u32::try_from(v.unwrap_or(0)).unwrap_or(u32::MAX);
        let duration = DurationMinutes::new(if duration.is_some() {
            minutes(duration)
        } else {
            60
        })
        .map_err(|e| {
            errors.push(ErrorDetail::new(
                [at, "duration"],
                e.to_string(),
                "value_error",
            ))
        })
        .ok();
        let step = StepMinutes::new(if step.is_some() { minutes(step) } else { 30 })
            .map_err(|e| errors.push(ErrorDetail::new([at, "step"], e.to_string(), "value_error")))
            .ok();
        let count = count.and_then(|c| {
            Count::new(u32::try_from(c).unwrap_or(u32::MAX))
                .map_err(|e| {
                    errors.push(ErrorDetail::new(
                        [at, "count"],
                        e.to_string(),
                        "value_error",
                    ))
                })
                .ok()
        });
        let preference = b.preference.as_deref().map(str::trim).and_then(|p| {
            p.parse::<Preference>()
                .map_err(|e| {
                    errors.push(ErrorDetail::new(
                        [at, "preference"],
                        e.to_string(),
                        "value_error",
                    ))
                })
                .ok()
        });
        let mut group = Map::new();
        let mut put = |k: &str, v: Option<Value>| {
            if let Some(v) = v {
                group.insert(k.to_owned(), v);
            }
        };
        put("userId1", b.user_id1.map(Value::from));
        put("userId2", b.user_id2.map(Value::from));
        put("users", b.users.map(Value::from));
        put("from", b.from.map(Value::from));
        put("days", b.days);
        put("tz", b.tz.map(Value::from));
        put("required", b.required.clone().map(Value::from));
        put("min_attendees", min_attendees.map(Value::from));
        put("detail", Some(json!("users")));
        match (duration, step) {
            (Some(duration), Some(step)) if errors.is_empty() => Ok(SuggestParams {
                at,
                group: Value::Object(group),
                required: b
                    .required
                    .map(|r| r.iter().map(|e| e.trim().to_ascii_lowercase()).collect()),
                min_attendees,
                duration,
                step,
                count,
                preference,
                seed,
            }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(v: Value) -> Result<SuggestParams, Vec<ErrorDetail>> {
        SuggestParams::from_body(serde_json::from_value(v).unwrap())
    }

    #[test]
    fn defaults_are_the_original_behaviour() {
        let p = body(json!({"userId1": "a@x.io", "userId2": "b@x.io"})).unwrap();
        assert!(p.original_mode());
        assert_eq!(p.duration.minutes(), 60);
        assert_eq!(p.step.minutes(), 30);
        assert_eq!(p.group["detail"], "users");
        assert_eq!(p.group["userId1"], "a@x.io");
    }

    #[test]
    fn ranking_parameters_are_validated_here() {
        for (v, field) in [
            (json!({"duration": 0}), "duration"),
            (json!({"duration": 7}), "duration"),
            (json!({"duration": 1441}), "duration"),
            (json!({"duration": "an hour"}), "duration"),
            (json!({"count": 0}), "count"),
            (json!({"count": 51}), "count"),
            (json!({"preference": "soonest"}), "preference"),
            (json!({"step": 3}), "step"),
            (json!({"seed": -1}), "seed"),
        ] {
            let errs = body(v.clone()).expect_err(&v.to_string());
            assert_eq!(errs[0].loc, ["body", field], "{v}");
        }
    }
}
