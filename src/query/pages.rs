//! Streams of pages read ahead: each page is read, and made into what is
//! sent, in a task of its own while the one before is sent. A stream holds
//! two pages at a time, and the reading and writing of the next page use the
//! second core while the first sends.

use std::future::Future;
use std::sync::Arc;

use futures::stream::{BoxStream, StreamExt};

/// `reading` run as a task of its own.
fn spawned<O: Send + 'static>(reading: impl Future<Output = sqlx::Result<O>> + Send + 'static) -> impl Future<Output = sqlx::Result<O>> + Send {
    let task = tokio::spawn(reading);
    async move { task.await.map_err(|e| sqlx::Error::Io(std::io::Error::other(e)))? }
}

/// Pages from `start` on, each read while the one before is sent.
/// `next(position)` gives a page and the position after it (`None`: that was
/// the last page), or `None` when there is nothing more.
pub fn read_ahead<P, O, F, Fut>(start: P, next: F) -> BoxStream<'static, sqlx::Result<O>>
where
    P: Send + 'static,
    O: Send + 'static,
    F: Fn(P) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = sqlx::Result<Option<(O, Option<P>)>>> + Send + 'static,
{
    let next = Arc::new(next);
    let first = spawned(next(start));
    futures::stream::try_unfold(Some(first), move |reading| {
        let next = next.clone();
        async move {
            let Some(reading) = reading else { return Ok(None) };
            let Some((page, after)) = reading.await? else { return Ok(None) };
            Ok(Some((page, after.map(|after| spawned(next(after))))))
        }
    })
    .boxed()
}
