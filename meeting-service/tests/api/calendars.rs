//! Calendars as JSON and ICS: who reads them, and output an independent
//! iCalendar parser (the `ical` crate) reads back field by field.

use std::io::BufReader;

use serde_json::{Value, json};

use crate::helpers::{meeting, spawn_app};

const NINE: &str = "2027-03-03T09:00:00Z";
const TEN: &str = "2027-03-03T10:00:00Z";

fn parse(ics: &str) -> ical::parser::ical::component::IcalCalendar {
    let mut calendars = ical::IcalParser::new(BufReader::new(ics.as_bytes()));
    let cal = calendars.next().expect("one calendar").expect("it parses");
    assert!(calendars.next().is_none());
    cal
}

fn props<'a>(
    event: &'a ical::parser::ical::component::IcalEvent,
    name: &str,
) -> Vec<&'a ical::property::Property> {
    event.properties.iter().filter(|p| p.name == name).collect()
}

fn value(event: &ical::parser::ical::component::IcalEvent, name: &str) -> String {
    props(event, name)[0].value.clone().unwrap_or_default()
}

fn param(p: &ical::property::Property, name: &str) -> String {
    p.params
        .as_ref()
        .and_then(|ps| ps.iter().find(|(n, _)| n == name))
        .map(|(_, v)| v.join(","))
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_calendar_lists_each_meeting_with_the_owners_role_and_answer() {
    let app = spawn_app().await;
    let mine = app
        .booked(&meeting("ann@x.io", &["bob@x.io"], NINE, TEN), None)
        .await;
    let theirs = app
        .booked(
            &meeting(
                "cat@x.io",
                &["ann@x.io"],
                "2027-03-04T09:00:00Z",
                "2027-03-04T10:00:00Z",
            ),
            None,
        )
        .await;
    app.answer(theirs["id"].as_str().unwrap(), "ann@x.io", "MAYBE", None)
        .await;
    let cal: Value = app
        .get_json(app.url("/calendars/ann@x.io?from=2027-03-01&to=2027-03-08"))
        .await;
    let entries = cal["meetings"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["id"], mine["id"]);
    assert_eq!(entries[0]["role"], "organizer");
    assert_eq!(entries[0]["my_answer"], Value::Null);
    assert_eq!(entries[1]["role"], "attendee");
    assert_eq!(entries[1]["my_answer"], "MAYBE");
    let outside: Value = app
        .get_json(app.url("/calendars/ann@x.io?from=2027-04-01&to=2027-04-08"))
        .await;
    assert_eq!(outside["meetings"], json!([]));
    let res = app
        .http
        .get(app.url("/calendars/ann@x.io?from=2027-03-08&to=2027-03-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claimed_calendar_is_read_by_its_owner_and_those_it_is_shared_with() {
    let app = spawn_app().await;
    let ann = app.account("ann@x.io").await;
    let bob = app.account("bob@x.io").await;
    let cat = app.account("cat@x.io").await;
    user_service::testing::share(&app.http, &app.user_base, "ann@x.io", &ann, "bob@x.io").await;
    let url = app.url("/calendars/ann@x.io");
    assert_eq!(app.http.get(&url).send().await.unwrap().status(), 401);
    assert_eq!(
        app.http
            .get(&url)
            .bearer_auth(&cat)
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(
        app.http
            .get(&url)
            .bearer_auth(&bob)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        app.http
            .get(&url)
            .bearer_auth(&ann)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_ics_round_trips_every_field_through_an_independent_parser() {
    let app = spawn_app().await;
    let long_title = format!("Quarterly planning; budget, roadmap and {}", "é".repeat(60));
    let mut body = meeting("ann@x.io", &["bob@x.io", "cat@x.io"], NINE, TEN);
    body["title"] = json!(long_title);
    body["description"] = json!("Line one\nLine two, with a comma");
    let m = app.booked(&body, None).await;
    let id = m["id"].as_str().unwrap();
    app.answer(id, "bob@x.io", "YES", None).await;
    app.answer(id, "cat@x.io", "NO", None).await;
    let res = app
        .http
        .get(app.url(&format!("/meetings/{id}/event.ics")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/calendar")
    );
    let text = res.text().await.unwrap();
    for line in text.split("\r\n") {
        assert!(line.len() <= 75, "a line of {} octets: {line}", line.len());
        assert!(!line.contains('\n'), "bare LF");
    }
    assert!(text.ends_with("END:VCALENDAR\r\n"));
    let cal = parse(&text);
    let event = &cal.events[0];
    assert_eq!(value(event, "UID"), format!("{id}@w2meet"));
    assert_eq!(value(event, "SEQUENCE"), "0");
    assert_eq!(value(event, "DTSTART"), "20270303T090000Z");
    assert_eq!(value(event, "DTEND"), "20270303T100000Z");
    assert_eq!(value(event, "STATUS"), "CONFIRMED");
    assert_eq!(value(event, "ORGANIZER"), "mailto:ann@x.io");
    assert!(!value(event, "DTSTAMP").is_empty());
    // The parser unfolds lines and leaves escapes to the reader.
    let summary = value(event, "SUMMARY")
        .replace("\\;", ";")
        .replace("\\,", ",");
    assert_eq!(summary, long_title);
    assert_eq!(
        value(event, "DESCRIPTION"),
        "Line one\\nLine two\\, with a comma"
    );
    let attendees: Vec<(String, String)> = props(event, "ATTENDEE")
        .iter()
        .map(|p| (p.value.clone().unwrap(), param(p, "PARTSTAT")))
        .collect();
    assert_eq!(
        attendees,
        [
            ("mailto:bob@x.io".to_owned(), "ACCEPTED".to_owned()),
            ("mailto:cat@x.io".to_owned(), "DECLINED".to_owned())
        ]
    );
    // Rescheduling and cancelling bump SEQUENCE; cancelled is CANCELLED.
    app.http
        .patch(app.url(&format!("/meetings/{id}")))
        .json(&json!({"start": "2027-03-03T11:00:00Z", "end": "2027-03-03T12:00:00Z"}))
        .send()
        .await
        .unwrap();
    app.http
        .delete(app.url(&format!("/meetings/{id}")))
        .send()
        .await
        .unwrap();
    let text = app
        .http
        .get(app.url(&format!("/meetings/{id}/event.ics")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let event = &parse(&text).events[0];
    assert_eq!(value(event, "SEQUENCE"), "2");
    assert_eq!(value(event, "STATUS"), "CANCELLED");
    assert_eq!(value(event, "UID"), format!("{id}@w2meet"));
    let partstats: Vec<String> = props(event, "ATTENDEE")
        .iter()
        .map(|p| param(p, "PARTSTAT"))
        .collect();
    assert_eq!(partstats, ["NEEDS-ACTION", "NEEDS-ACTION"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_token_opens_the_feed_until_it_is_revoked_or_replaced() {
    let app = spawn_app().await;
    let ann = app.account("ann@x.io").await;
    let m = app
        .booked(
            &json!({"title": "Mine", "start": NINE, "end": TEN, "attendees": ["bob@x.io"]}),
            Some(&ann),
        )
        .await;
    let token_url = app.url("/calendars/ann@x.io/feed-token");
    assert_eq!(
        app.http.post(&token_url).send().await.unwrap().status(),
        401
    );
    let res = app
        .http
        .post(&token_url)
        .bearer_auth(&ann)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let issued: Value = res.json().await.unwrap();
    let token = issued["token"].as_str().unwrap().to_owned();
    assert!(
        issued["feed_path"]
            .as_str()
            .unwrap()
            .starts_with("/meetings/calendars/ann@x.io/feed.ics?token=")
    );
    let feed = |token: String| {
        app.http
            .get(app.url(&format!(
                "/calendars/ann@x.io/feed.ics?token={token}&from=2027-03-01"
            )))
            .send()
    };
    let res = feed(token.clone()).await.unwrap();
    assert_eq!(res.status(), 200);
    let cal = parse(&res.text().await.unwrap());
    assert_eq!(cal.events.len(), 1);
    assert_eq!(
        value(&cal.events[0], "UID"),
        format!("{}@w2meet", m["id"].as_str().unwrap())
    );
    assert_eq!(feed("wrong".into()).await.unwrap().status(), 401);
    // A new token replaces the old one.
    let second: Value = app
        .http
        .post(&token_url)
        .bearer_auth(&ann)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(feed(token).await.unwrap().status(), 401);
    let second = second["token"].as_str().unwrap().to_owned();
    assert_eq!(feed(second.clone()).await.unwrap().status(), 200);
    let res = app
        .http
        .delete(&token_url)
        .bearer_auth(&ann)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(feed(second).await.unwrap().status(), 401);
    // Without a token the feed needs calendar access.
    let res = app
        .http
        .get(app.url("/calendars/ann@x.io/feed.ics"))
        .bearer_auth(&ann)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}
