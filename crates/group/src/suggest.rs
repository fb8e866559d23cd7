//! A suggestion request: the group ([`GroupRequest`]) plus how to rank
//! (`duration`, `step`, `count`, `preference`, `seed`), parsed once.
//! suggestion-service parses its query strings and bodies with this, and
//! worker-service parses a job's body with it before answering 202, so a
//! job is refused with exactly the 400 the synchronous endpoint would give.

use scheduling::{Count, DurationMinutes, Preference, StepMinutes};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use w2meet_platform::ErrorDetail;

use crate::problems::{Problems, Source};
use crate::request::{GroupBody, GroupQuery, GroupRequest};

/// Meeting length when `duration` is not given.
pub const DEFAULT_DURATION_MINUTES: u32 = 60;
/// Minutes between candidate starts when `step` is not given.
pub const DEFAULT_STEP_MINUTES: u32 = 30;

/// The ranking parameters of a query string.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RankQuery {
    /// Meeting length in minutes, a multiple of 5 from 5 to 1440; default 60.
    pub duration: Option<String>,
    /// Number of suggestions, 1–50.
    pub count: Option<String>,
    /// `first` | `last` | `random` | `best`, overriding stored preferences.
    pub preference: Option<String>,
    /// Minutes between candidate starts, a multiple of 5 from 5 to 1440; default 30.
    pub step: Option<String>,
    /// Seed for `random` (a whole number); default 0.
    pub seed: Option<String>,
}

/// The ranking parameters of a JSON body.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct RankBody {
    /// Meeting length in minutes, a multiple of 5 from 5 to 1440; default 60.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<u32>, minimum = 5, maximum = 1440, multiple_of = 5)]
    pub duration: Option<Value>,
    /// Number of suggestions, 1–50.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 50)]
    pub count: Option<Value>,
    /// `first` | `last` | `random` | `best`, overriding stored preferences.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preference: Option<String>,
    /// Minutes between candidate starts; default 30.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<u32>, minimum = 5, maximum = 1440, multiple_of = 5)]
    pub step: Option<Value>,
    /// Seed for `random`; default 0.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<u64>, minimum = 0)]
    pub seed: Option<Value>,
}

impl RankBody {
    /// Every field's JSON name (a test keeps this true).
    pub const FIELDS: [&'static str; 5] = ["duration", "count", "preference", "step", "seed"];
}

impl SuggestBody {
    /// Whether `name` is a field of this body.
    pub fn has_field(name: &str) -> bool {
        GroupBody::FIELDS.contains(&name) || RankBody::FIELDS.contains(&name)
    }
}

impl From<RankQuery> for RankBody {
    fn from(q: RankQuery) -> RankBody {
        RankBody {
            duration: q.duration.map(Value::String),
            count: q.count.map(Value::String),
            preference: q.preference,
            step: q.step.map(Value::String),
            seed: q.seed.map(Value::String),
        }
    }
}

/// `GET /suggestions` parameters: the group and the ranking. (utoipa's
/// `IntoParams` cannot flatten: document it as `params(GroupQuery,
/// RankQuery)`.)
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SuggestQuery {
    #[serde(flatten)]
    pub group: GroupQuery,
    #[serde(flatten)]
    pub rank: RankQuery,
}

/// `POST /suggestions` body (and a job's): the group and the ranking.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct SuggestBody {
    #[serde(flatten)]
    pub group: GroupBody,
    #[serde(flatten)]
    pub rank: RankBody,
}

/// Valid ranking options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RankOptions {
    pub duration: DurationMinutes,
    pub step: StepMinutes,
    /// `None`: not given (the original behaviour when `preference` is also
    /// absent).
    pub count: Option<Count>,
    pub preference: Option<Preference>,
    pub seed: Option<u64>,
    /// Whether `duration` or `step` was given (they make a request new-form).
    shaped: bool,
}

impl RankOptions {
    fn parse(problems: &mut Problems, b: RankBody) -> Option<RankOptions> {
        let before = problems.len();
        let mut minutes = |field: &'static str, v: Option<&Value>| {
            problems
                .whole_number(field, v)
                .map(|m| u32::try_from(m).unwrap_or(u32::MAX))
        };
        let (duration_given, step_given) = (b.duration.is_some(), b.step.is_some());
        let duration = minutes("duration", b.duration.as_ref());
        let step = minutes("step", b.step.as_ref());
        let count = minutes("count", b.count.as_ref());
        let seed = problems.whole_number("seed", b.seed.as_ref());
        let duration = problems.accept(
            "duration",
            DurationMinutes::new(duration.unwrap_or(DEFAULT_DURATION_MINUTES)),
        );
        let step = problems.accept(
            "step",
            StepMinutes::new(step.unwrap_or(DEFAULT_STEP_MINUTES)),
        );
        let count = count.and_then(|c| problems.accept("count", Count::new(c)));
        let preference = b
            .preference
            .as_deref()
            .map(str::trim)
            .and_then(|p| problems.accept("preference", p.parse::<Preference>()));
        match (duration, step) {
            (Some(duration), Some(step)) if problems.len() == before => Some(RankOptions {
                duration,
                step,
                count,
                preference,
                seed,
                shaped: duration_given || step_given,
            }),
            _ => None,
        }
    }

    /// Neither `count` nor `preference`: one suggestion per distinct stored
    /// preference, as the original did.
    pub fn one_per_stored_preference(&self) -> bool {
        self.count.is_none() && self.preference.is_none()
    }

    /// Whether any ranking parameter was given.
    pub fn any_given(&self) -> bool {
        self.shaped || self.count.is_some() || self.preference.is_some() || self.seed.is_some()
    }

    fn to_body(self) -> RankBody {
        RankBody {
            duration: Some(Value::from(self.duration.minutes())),
            count: self.count.map(|c| Value::from(c.get())),
            preference: self.preference.map(|p| p.as_str().to_owned()),
            step: Some(Value::from(self.step.minutes())),
            seed: self.seed.map(Value::from),
        }
    }
}

/// A valid suggestion request.
#[derive(Debug, Clone, PartialEq)]
pub struct SuggestionRequest {
    pub group: GroupRequest,
    pub options: RankOptions,
}

impl SuggestionRequest {
    pub fn from_query(q: SuggestQuery) -> Result<SuggestionRequest, Vec<ErrorDetail>> {
        Self::parse(
            Source::Query,
            SuggestBody {
                group: q.group.into(),
                rank: q.rank.into(),
            },
        )
    }

    pub fn from_body(b: SuggestBody) -> Result<SuggestionRequest, Vec<ErrorDetail>> {
        Self::parse(Source::Body, b)
    }

    fn parse(source: Source, b: SuggestBody) -> Result<SuggestionRequest, Vec<ErrorDetail>> {
        let mut problems = Problems::new(source);
        let group = GroupRequest::parse(&mut problems, b.group);
        let options = RankOptions::parse(&mut problems, b.rank);
        let parsed = group
            .zip(options)
            .map(|(group, options)| SuggestionRequest { group, options });
        problems.finish(parsed)
    }

    /// The original request (`GET ?userId1=&userId2=` and nothing newer):
    /// its answer keeps the original shape exactly.
    pub fn is_original_form(&self) -> bool {
        self.group.is_original_form() && !self.options.any_given()
    }

    /// The canonical JSON body of this request (see
    /// [`GroupRequest::to_body`]).
    pub fn to_body(&self) -> SuggestBody {
        SuggestBody {
            group: self.group.to_body(),
            rank: self.options.to_body(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(v: Value) -> Result<SuggestionRequest, Vec<ErrorDetail>> {
        SuggestionRequest::from_body(serde_json::from_value(v).expect("body shape"))
    }

    fn query(qs: &str) -> Result<SuggestionRequest, Vec<ErrorDetail>> {
        let map: serde_json::Map<String, Value> = qs
            .split('&')
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| (k.to_owned(), Value::String(v.to_owned())))
            .collect();
        SuggestionRequest::from_query(serde_json::from_value(Value::Object(map)).expect("shape"))
    }

    #[test]
    fn defaults_are_the_original_behaviour() {
        let r = query("userId1=a@x.io&userId2=b@x.io").expect("valid");
        assert!(r.is_original_form() && r.options.one_per_stored_preference());
        assert_eq!(r.options.duration.minutes(), 60);
        assert_eq!(r.options.step.minutes(), 30);
        assert!(
            !query("userId1=a@x.io&userId2=b@x.io&duration=60")
                .expect("valid")
                .is_original_form()
        );
        assert!(
            !query("userId1=a@x.io&userId2=b@x.io&seed=1")
                .expect("valid")
                .is_original_form()
        );
    }

    #[test]
    fn ranking_parameters_are_checked_with_the_group() {
        let group = json!(["a@x.io", "b@x.io"]);
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
            let mut v2 = v.clone();
            v2["users"] = group.clone();
            let errs = body(v2).expect_err(&v.to_string());
            assert_eq!(errs.len(), 1, "{v}: {errs:?}");
            assert_eq!(errs[0].loc, ["body", field], "{v}");
        }
        let errs = body(json!({"users": ["a@x.io"], "count": 0})).expect_err("both");
        assert_eq!(errs.len(), 2);
    }

    #[test]
    fn the_field_list_names_every_field() {
        let full = RankBody {
            duration: Some(Value::Null),
            count: Some(Value::Null),
            preference: Some(String::new()),
            step: Some(Value::Null),
            seed: Some(Value::Null),
        };
        let value = serde_json::to_value(full).expect("serialises");
        let keys: Vec<&str> = value
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, RankBody::FIELDS);
    }

    #[test]
    fn the_canonical_body_round_trips() {
        let r = query("users=a@x.io,B@x.io&count=3&preference=best&seed=9&step=15").expect("ok");
        let wire = serde_json::to_value(r.to_body()).expect("serialises");
        assert_eq!(wire["users"], json!(["a@x.io", "b@x.io"]));
        let again = body(wire).expect("valid");
        assert_eq!(again.options, r.options);
        assert_eq!(again.group.members(), r.group.members());
    }
}
