//! The consumers' hot writes, coalesced: the claims of concurrent
//! deliveries share one `UPDATE`, and so do their results
//! ([`super::batch`]). Each row keeps its own conditional rule (claim only
//! an attempt not yet taken, finish only the attempt claimed), so
//! "finished exactly once" holds as it does for single statements; the
//! consumer still acknowledges a delivery only after its result committed.

use serde_json::Value;
use uuid::Uuid;

use super::batch::{Batcher, each_or_alone};
use super::{Claim, JobRecord, JobStore, StoreError};

/// The most rows one claim or result statement carries.
const BATCH_MAX: usize = 64;

/// Statements of each kind in flight at once.
const WORKERS: usize = 2;

/// Coalesced claims and results over one [`JobStore`]. Cheap to clone.
#[derive(Clone)]
pub struct JobWrites {
    claims: Batcher<(Uuid, i32, bool), Result<Claim, StoreError>>,
    results: Batcher<(Uuid, i32, Value), Result<Option<JobRecord>, StoreError>>,
}

impl JobWrites {
    /// Starts the batching workers (they stop with the last clone).
    pub fn new(store: &JobStore) -> JobWrites {
        let for_claims = store.clone();
        let claims = Batcher::spawn(WORKERS, BATCH_MAX, move |batch: Vec<(Uuid, i32, bool)>| {
            let store = for_claims.clone();
            async move {
                each_or_alone(&batch, |b| {
                    let store = store.clone();
                    Box::pin(async move { store.claim_many(b).await })
                })
                .await
            }
        });
        let for_results = store.clone();
        let results = Batcher::spawn(WORKERS, BATCH_MAX, move |batch: Vec<(Uuid, i32, Value)>| {
            let store = for_results.clone();
            async move {
                each_or_alone(&batch, |b| {
                    let store = store.clone();
                    Box::pin(async move { store.succeed_many(b).await })
                })
                .await
            }
        });
        JobWrites { claims, results }
    }

    /// [`JobStore::claim`], in the next claim batch.
    pub async fn claim(
        &self,
        id: Uuid,
        attempt: i32,
        redelivered: bool,
    ) -> Result<Claim, StoreError> {
        self.claims
            .run((id, attempt, redelivered))
            .await
            .unwrap_or_else(|| Err(stopping()))
    }

    /// [`JobStore::succeed`], in the next result batch.
    pub async fn succeed(
        &self,
        id: Uuid,
        attempt: i32,
        result: Value,
    ) -> Result<Option<JobRecord>, StoreError> {
        self.results
            .run((id, attempt, result))
            .await
            .unwrap_or_else(|| Err(stopping()))
    }
}

fn stopping() -> StoreError {
    StoreError::Unavailable("the consumer is stopping".into())
}
