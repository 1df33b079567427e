//! Storing Vigil's own events. Every search, view and export in the console
//! becomes an event, as often as pages are served. Stored one by one, each
//! took a writer connection and a transaction of its own, and under load they
//! waited past the pool's limit and were dropped. Now they queue, and one task
//! per instance stores whatever has queued as one batch, trying again while
//! the database is away or busy: an activity is lost only when the process
//! dies before its batch is committed, or the database refuses it for good.

use std::time::Duration;

use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};

use crate::ingest::NewEvent;
use crate::state::{AppState, QueuedEvent};

/// Events that may wait in the queue; past it, a background activity waits
/// for room in a task of its own (the request does not wait).
const CAPACITY: usize = 10_000;
/// Most events stored in one batch.
const BATCH: usize = 1_000;
/// First and longest wait before trying a refused batch again.
const RETRY_FIRST: Duration = Duration::from_millis(100);
const RETRY_MAX: Duration = Duration::from_secs(5);

/// Queue an event without waiting for it.
pub fn enqueue(state: &AppState, event: NewEvent) {
    let queue = sender(state);
    let item = QueuedEvent { event: Some(event), committed: None };
    if let Err(mpsc::error::TrySendError::Full(item)) = queue.try_send(item) {
        let queue = queue.clone();
        tokio::spawn(async move { queue.send(item).await.ok() });
    }
}

/// Queue an event and wait until it is committed; false when it was not.
pub async fn store(state: &AppState, event: NewEvent) -> bool {
    committed(state, Some(event)).await
}

/// Wait until every event queued so far is stored (at shutdown).
pub async fn flush(state: &AppState) {
    committed(state, None).await;
}

async fn committed(state: &AppState, event: Option<NewEvent>) -> bool {
    let (done, answer) = oneshot::channel();
    let item = QueuedEvent { event, committed: Some(done) };
    sender(state).send(item).await.is_ok() && answer.await.unwrap_or(false)
}

/// The queue of this state, and its writer, started on first use.
fn sender(state: &AppState) -> &mpsc::Sender<QueuedEvent> {
    state.audit_queue.get_or_init(|| {
        let (sender, queue) = mpsc::channel(CAPACITY);
        tokio::spawn(drain(state.writers.clone(), queue));
        sender
    })
}

/// Store what has queued, a batch at a time, in the order it queued; ends
/// when every sender is gone.
async fn drain(writers: PgPool, mut queue: mpsc::Receiver<QueuedEvent>) {
    let mut items = Vec::with_capacity(BATCH);
    while queue.recv_many(&mut items, BATCH).await > 0 {
        let events: Vec<NewEvent> = items.iter_mut().filter_map(|item| item.event.take()).collect();
        let stored = insert(&writers, &events).await;
        for item in items.drain(..) {
            if let Some(committed) = item.committed {
                committed.send(stored).ok();
            }
        }
    }
}

/// Insert one batch, as often as it takes while the failure is passing.
async fn insert(writers: &PgPool, events: &[NewEvent]) -> bool {
    let mut wait = RETRY_FIRST;
    loop {
        match crate::store::insert_events(writers, events).await {
            Ok(_) => return true,
            Err(error) if crate::error::is_transient(&error) => {
                tracing::warn!(%error, events = events.len(), "self-audit events not stored yet; trying again");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(RETRY_MAX);
            }
            Err(error) => {
                tracing::error!(%error, events = events.len(), "self-audit events not stored");
                return false;
            }
        }
    }
}
