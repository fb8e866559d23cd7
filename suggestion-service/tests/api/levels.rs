//! Two levels of free time and explanations (SPEC §10) through the real
//! user- and availability-service.

use serde_json::{Value, json};

use crate::helpers::*;

fn if_need_be(body: &Value) -> Vec<Value> {
    body["suggestions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.get("if_need_be").cloned().unwrap_or(json!([])))
        .collect()
}

#[tokio::test]
async fn fewest_if_need_be_attendees_rank_before_the_preference() {
    let s = spawn_app().await;
    // 2031-03-03 is a Monday. ann is free 9-10 and can do 10-12 if need be.
    s.user(
        json!({"email": "ann@x.io", "availabilities": {"monday": [9]},
                  "if_need_be": {"monday": [10, 11]}}),
    )
    .await;
    s.user(json!({"email": "bob@x.io", "availabilities": {"monday": [9, 10, 11]}}))
        .await;
    let q = "users=ann@x.io,bob@x.io&from=2031-03-03&days=1&duration=60&count=3";
    let first = s.json(&format!("{q}&preference=first")).await;
    assert_eq!(
        starts(&first),
        [
            "2031-03-03T09:00:00Z",
            "2031-03-03T09:30:00Z",
            "2031-03-03T10:00:00Z"
        ]
    );
    assert_eq!(
        if_need_be(&first),
        [json!([]), json!(["ann@x.io"]), json!(["ann@x.io"])]
    );
    assert!(
        first["suggestions"][1]["reason"]
            .as_str()
            .unwrap()
            .contains("1 only if need be"),
        "{first}"
    );
    // `last` still puts the one meeting nobody needs to stretch for first.
    let last = s.json(&format!("{q}&preference=last")).await;
    assert_eq!(
        starts(&last),
        [
            "2031-03-03T09:00:00Z",
            "2031-03-03T11:00:00Z",
            "2031-03-03T10:30:00Z"
        ]
    );
    // The original form keeps its exact shape.
    let original = s.json("userId1=ann@x.io&userId2=bob@x.io").await;
    let keys: Vec<&String> = original.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["case_id", "suggestions"]);
    for suggestion in original["suggestions"].as_array().unwrap() {
        let keys: Vec<&String> = suggestion.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["day", "slot"]);
    }
}

#[tokio::test]
async fn an_empty_answer_names_the_blocker_and_the_smallest_change() {
    let s = spawn_app().await;
    for (email, hours) in [("ann@x.io", 9), ("bob@x.io", 10), ("cy@x.io", 9)] {
        s.user(json!({"email": email, "availabilities": {"monday": [hours]}}))
            .await;
    }
    let q = "users=ann@x.io,bob@x.io,cy@x.io&from=2031-03-03&days=1&duration=60";
    let body = s.json(q).await;
    assert_eq!(body["suggestions"], json!([]));
    assert_eq!(
        body["blockers"],
        json!([{"email": "bob@x.io", "best_slots_missed": 1}])
    );
    assert_eq!(
        body["smallest_change"],
        json!({"people": {"users": ["bob@x.io"], "start": "2031-03-03T09:00:00Z",
                          "end": "2031-03-03T10:00:00Z"},
               "duration": null, "min_attendees": null, "days": null})
    );
    // A quorum that bob must be part of: the meeting fits, yet bob keeps
    // the group's best slot (ann and cy at 9) off the list.
    let body = s
        .json(&format!("{q}&required=bob@x.io&min_attendees=1"))
        .await;
    assert_eq!(starts(&body), ["2031-03-03T10:00:00Z"]);
    assert_eq!(
        body["blockers"],
        json!([{"email": "bob@x.io", "best_slots_missed": 1}])
    );
    assert_eq!(body["smallest_change"], Value::Null);
    // With ann required instead, a best slot has everyone required.
    let body = s
        .json(&format!("{q}&required=ann@x.io&min_attendees=2"))
        .await;
    assert_eq!(body["blockers"], json!([]));
    // Asking for three people where at most two meet: lower the quorum.
    let body = s
        .json(&format!("{q}&required=ann@x.io&min_attendees=3"))
        .await;
    assert_eq!(body["smallest_change"]["min_attendees"], 2);
    assert_eq!(
        body["smallest_change"]["people"]["users"],
        json!(["bob@x.io"])
    );
}

#[tokio::test]
async fn a_window_too_short_says_how_many_days_would_hold_a_meeting() {
    let s = spawn_app().await;
    for email in ["ann@x.io", "bob@x.io"] {
        s.user(json!({"email": email, "availabilities": {"thursday": [9]}}))
            .await;
    }
    // Monday and Tuesday only: nothing; Thursday is the window's fourth day.
    let body = s
        .json("users=ann@x.io,bob@x.io&from=2031-03-03&days=2&duration=60")
        .await;
    assert_eq!(body["suggestions"], json!([]));
    assert_eq!(body["smallest_change"]["days"], 4);
    // Nobody can come in any window: no number of days helps.
    s.user(json!({"email": "cy@x.io", "availabilities": {}}))
        .await;
    let body = s
        .json("users=ann@x.io,bob@x.io,cy@x.io&from=2031-03-03&days=2&duration=60")
        .await;
    assert_eq!(body["smallest_change"]["days"], Value::Null);
}
