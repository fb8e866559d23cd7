//! The coalesced claims and results ([`worker_service::store::writes`])
//! keep each row's rule: an attempt is claimed once, only the claimed
//! attempt finishes, and a finished job is never changed again.

use serde_json::json;
use uuid::Uuid;
use worker_service::store::{Claim, Draft, JobStore, JobWrites};

use crate::helpers::*;

async fn store_with_jobs(n: usize) -> (TestEnv, JobStore, Vec<Uuid>, Stub) {
    let stub = Stub::start(vec![]).await;
    let env = TestEnv::new(&stub.url).await;
    // The app's start migrates the schema.
    let api = spawn_app(env.config.clone()).await;
    let store = api.tasks.store.clone();
    let drafts: Vec<Draft> = (0..n)
        .map(|i| Draft {
            id: Uuid::now_v7(),
            kind: "suggestion".into(),
            request: json!({"users": ["a@x.io", "b@x.io"]}),
            case_id: format!("writes-{i}"),
            callback_url: None,
            idempotency_key: None,
            submitter: None,
            book: None,
        })
        .collect();
    let jobs = store.insert_many(&drafts).await.unwrap();
    let ids = jobs
        .iter()
        .map(|j| j.as_ref().expect("stored").id)
        .collect();
    (env, store, ids, stub)
}

#[tokio::test]
async fn a_batch_of_claims_applies_each_rows_rule() {
    let (_env, store, ids, _stub) = store_with_jobs(3).await;
    let unknown = Uuid::now_v7();
    // ids[0] twice in one batch (a duplicate delivery), ids[1] once,
    // ids[2] after it finished, and a job that does not exist.
    assert!(matches!(
        store.claim(ids[2], 1, false).await.unwrap(),
        Claim::Claimed(_)
    ));
    store
        .succeed(ids[2], 1, &json!({"done": true}))
        .await
        .unwrap();
    let claims = store
        .claim_many(&[
            (ids[0], 1, false),
            (ids[0], 1, false),
            (ids[1], 1, false),
            (ids[2], 2, false),
            (unknown, 1, false),
        ])
        .await
        .unwrap();
    let claimed_first = claims[..2]
        .iter()
        .filter(|c| matches!(c, Claim::Claimed(_)))
        .count();
    assert_eq!(
        claimed_first, 1,
        "a duplicate in the batch is not claimed twice"
    );
    assert!(claims[..2].iter().any(|c| matches!(c, Claim::Stale)));
    assert!(matches!(&claims[2], Claim::Claimed(job) if job.id == ids[1] && job.attempts == 1));
    assert!(matches!(claims[3], Claim::Finished(_)));
    assert!(matches!(claims[4], Claim::NotFound));
    // A later attempt may take over; the same attempt again may not.
    let again = store
        .claim_many(&[(ids[1], 1, false), (ids[1], 2, false)])
        .await
        .unwrap();
    assert!(matches!(again[0], Claim::Stale));
    assert!(matches!(&again[1], Claim::Claimed(job) if job.attempts == 2));
}

#[tokio::test]
async fn a_batch_of_results_finishes_only_the_claimed_attempt_and_only_once() {
    let (_env, store, ids, _stub) = store_with_jobs(2).await;
    for id in &ids {
        store.claim(*id, 1, false).await.unwrap();
    }
    store.claim(ids[1], 2, false).await.unwrap();
    let stored = store
        .succeed_many(&[
            (ids[0], 1, json!({"n": 0})),
            (ids[1], 1, json!({"stale": true})),
        ])
        .await
        .unwrap();
    let first = stored[0].as_ref().expect("the claimed attempt finishes");
    assert_eq!(first.result, Some(json!({"n": 0})));
    assert!(stored[1].is_none(), "attempt 1 was taken over by attempt 2");
    let repeat = store
        .succeed_many(&[(ids[0], 1, json!({"n": "again"}))])
        .await
        .unwrap();
    assert!(repeat[0].is_none(), "a finished job is not finished again");
    let job = store.get(ids[0]).await.unwrap().unwrap();
    assert_eq!(job.result, Some(json!({"n": 0})));
}

#[tokio::test]
async fn concurrent_claims_and_results_through_the_batcher_each_get_their_own_answer() {
    let (_env, store, ids, _stub) = store_with_jobs(40).await;
    let writes = JobWrites::new(&store);
    let runs: Vec<_> = ids
        .iter()
        .map(|id| {
            let (writes, id) = (writes.clone(), *id);
            tokio::spawn(async move {
                let Claim::Claimed(job) = writes.claim(id, 1, false).await.unwrap() else {
                    panic!("{id} not claimed");
                };
                assert_eq!(job.id, id);
                let done = writes
                    .succeed(id, 1, json!({"for": id.to_string()}))
                    .await
                    .unwrap()
                    .expect("finished");
                assert_eq!(done.result, Some(json!({"for": id.to_string()})));
            })
        })
        .collect();
    for run in runs {
        run.await.unwrap();
    }
}
