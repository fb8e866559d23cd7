//! The job API and a consumer speaking AMQP over TLS (`amqps://`) to a
//! private RabbitMQ node whose certificate a test CA signed.

use std::time::Duration;

use test_support::rabbitmq::PrivateRabbit;
use test_support::tls::TestCa;
use worker_service::domain::JobStatus;

use crate::helpers::*;

#[tokio::test]
async fn jobs_flow_over_amqps_with_the_ca_trusted_and_not_without_it() {
    let ca = TestCa::new();
    let rabbit = PrivateRabbit::start_tls(&ca).await;
    let stub = Stub::start(vec![]).await;
    let mut env = TestEnv::on_broker(&stub.url, &rabbit.url()).await;
    env.config.amqp.url = rabbit.tls_url();

    // Not trusting the CA: the broker is unreachable as far as the API is
    // concerned (503), never used unverified.
    let api = spawn_app(env.config.clone()).await;
    assert_eq!(api.post("/tasks", &pair()).await.status(), 503);

    env.config.amqp.ca_pem = Some(std::fs::read_to_string(ca.ca_file()).unwrap());
    let api = spawn_app(env.config.clone()).await;
    let consumer = spawn_consumer(env.config.clone()).await;
    let accepted = test_support::wait_until(Duration::from_secs(10), || async {
        api.post("/tasks", &pair()).await.status() == 202
    })
    .await;
    assert!(accepted, "submits over amqps are accepted");
    let id = api.submit(&pair()).await;
    api.wait_for(&id, JobStatus::Succeeded).await;
    consumer.stop().await;
}
