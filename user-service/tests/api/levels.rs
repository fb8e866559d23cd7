//! "If need be" time (SPEC §10): stored beside the weekly pattern, absent
//! from every answer of a person who has none, taken by overrides, and
//! painted `1` in the free/busy view.

use serde_json::{Value, json};

use crate::helpers::spawn_app;

#[tokio::test]
async fn if_need_be_time_is_stored_echoed_normalised_and_absent_when_none() {
    let app = spawn_app().await;
    let plain = app.create("plain@x.io", json!({"monday": [9]})).await;
    assert!(plain.get("if_need_be").is_none(), "{plain}");
    let body = json!({"email": "ann@x.io", "availabilities": {"monday": [9, 10]},
                      "if_need_be": {"monday": [11, 12], "friday": ["16:00-18:00", "17:00-18:30"]}});
    let res = app.post("/users", &body).await;
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    assert_eq!(
        created["if_need_be"],
        json!({"monday": [11, 12], "tuesday": [], "wednesday": [], "thursday": [],
               "friday": ["16:00-18:30"], "saturday": [], "sunday": []})
    );
    // Read back (miss, then hit) with the same shape.
    for _ in 0..2 {
        let got: Value = app.get("/users/ann@x.io").await.json().await.unwrap();
        assert_eq!(got["if_need_be"], created["if_need_be"]);
    }
    // A retried create is harmless; different if-need-be time is a conflict.
    assert_eq!(app.post("/users", &body).await.status(), 200);
    let mut other = body.clone();
    other["if_need_be"] = json!({"monday": [13]});
    assert_eq!(app.post("/users", &other).await.status(), 409);
    // The original availability record keeps its original fields only.
    let original: Value = app
        .get("/user-avail/cache-aside/ann@x.io")
        .await
        .json()
        .await
        .unwrap();
    assert!(original.get("if_need_be").is_none(), "{original}");
    // A replace is whole: without if_need_be the person has none.
    let res = app
        .put(
            "/users/ann@x.io",
            &json!({"availabilities": {"monday": [9]}}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let replaced: Value = res.json().await.unwrap();
    assert!(replaced.get("if_need_be").is_none(), "{replaced}");
    let got: Value = app.get("/users/ann@x.io").await.json().await.unwrap();
    assert!(got.get("if_need_be").is_none(), "{got}");
}

#[tokio::test]
async fn bad_if_need_be_time_is_a_400_naming_where() {
    let app = spawn_app().await;
    let res = app
        .post(
            "/users",
            &json!({"email": "ann@x.io", "if_need_be": {"monday": [24]}}),
        )
        .await;
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body["detail"][0]["loc"],
        json!(["body", "if_need_be", "monday", "0"])
    );
    assert!(body["case_id"].is_string());
    assert_eq!(app.get("/users/ann@x.io").await.status(), 404);
}

#[tokio::test]
async fn overrides_take_the_if_need_be_kind_and_freebusy_paints_it_tentative() {
    let app = spawn_app().await;
    let res = app
        .post(
            "/users",
            &json!({"email": "ann@x.io", "availabilities": {"monday": [9, 10]},
                    "if_need_be": {"monday": [11]}}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let res = app
        .put(
            "/users/ann@x.io/overrides",
            &json!({"overrides": [
                {"from": "2031-03-03T14:00", "to": "2031-03-03T15:00", "kind": "if_need_be"},
                {"from": "2031-03-03T10:00", "to": "2031-03-03T10:30", "kind": "if_need_be"}
            ]}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["overrides"][0]["kind"], "if_need_be");
    // 2031-03-03 is a Monday: 9 free, 10 half if-need-be, 11 if need be,
    // 12-13 busy, 14 if need be by override.
    let view: Value = app
        .get("/users/ann@x.io/freebusy?from=2031-03-03&days=1&interval=60&tz=UTC")
        .await
        .json()
        .await
        .unwrap();
    let view = view["availability_view"].as_str().unwrap();
    assert_eq!(&view[8..16], "20112212");
    let res = app
        .put(
            "/users/ann@x.io/overrides",
            &json!({"overrides": [{"date": "2031-03-03", "kind": "maybe"}]}),
        )
        .await;
    assert_eq!(res.status(), 400);
}
