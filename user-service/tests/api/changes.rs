//! Change events (`changes`): every write that can change when people are
//! free is published as `user.changed` naming them, on the shared broker,
//! to this test's own exchange.

use std::collections::BTreeSet;
use std::time::Duration;

use lapin::options::{
    BasicGetOptions, ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{Connection, ConnectionProperties, ExchangeKind};
use serde_json::{Value, json};
use test_support::rabbitmq::{TestQueue, amqp_url};

use crate::helpers::{Options, spawn_app_with};

#[tokio::test]
async fn every_write_that_changes_free_time_names_its_people() {
    let exchange = test_support::unique_name("test_users");
    let queue = TestQueue::new();
    queue.also_delete_exchange(exchange.clone());
    let conn = Connection::connect(&amqp_url(), ConnectionProperties::default())
        .await
        .expect("broker");
    let ch = conn.create_channel().await.expect("channel");
    let durable = ExchangeDeclareOptions {
        durable: true,
        ..ExchangeDeclareOptions::default()
    };
    ch.exchange_declare(
        exchange.as_str().into(),
        ExchangeKind::Topic,
        durable,
        FieldTable::default(),
    )
    .await
    .expect("exchange");
    ch.queue_declare(
        queue.name.as_str().into(),
        QueueDeclareOptions::default(),
        FieldTable::default(),
    )
    .await
    .expect("queue");
    ch.queue_bind(
        queue.name.as_str().into(),
        exchange.as_str().into(),
        "user.changed".into(),
        QueueBindOptions::default(),
        FieldTable::default(),
    )
    .await
    .expect("bind");

    let app = spawn_app_with(Options {
        changes: Some(exchange),
        ..Options::default()
    })
    .await;
    app.create("ann@x.io", json!({"monday": [9]})).await;
    let res = app
        .put(
            "/users/ann@x.io/overrides",
            &json!({"overrides": [{"date": "2031-03-03", "kind": "if_need_be"}]}),
        )
        .await;
    assert_eq!(res.status(), 200);
    app.create("bob@x.io", json!({})).await;
    let res = app
        .http
        .delete(app.url("/users/bob@x.io"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);

    // Each write names its people; writes waiting together share a message
    // (a person named once in it).
    let mut named: Vec<String> = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while tokio::time::Instant::now() < deadline {
        let got = ch
            .basic_get(queue.name.as_str().into(), BasicGetOptions { no_ack: true })
            .await
            .expect("get");
        let Some(message) = got else {
            if named.iter().any(|e| e == "ann@x.io") && named.iter().any(|e| e == "bob@x.io") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let event: Value = serde_json::from_slice(&message.delivery.data).expect("JSON");
        assert_eq!(event["type"], "user.changed");
        assert!(event["event_id"].is_string());
        named.extend(
            event["emails"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e.as_str().unwrap().to_owned()),
        );
    }
    let people: BTreeSet<&str> = named.iter().map(String::as_str).collect();
    assert_eq!(people, BTreeSet::from(["ann@x.io", "bob@x.io"]));
    // A read changes nothing and says nothing.
    app.get("/users/ann@x.io").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got = ch
        .basic_get(queue.name.as_str().into(), BasicGetOptions { no_ack: true })
        .await
        .expect("get");
    assert!(got.is_none(), "a read published a change");
}
