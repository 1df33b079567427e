//! Streams of pages read ahead: each page is read, then written (as what is
//! sent) in a task of its own, while the next page is read and the one
//! before is sent. PostgreSQL reads one page while the server writes another
//! on the second core.

use std::future::Future;
use std::sync::Arc;

use futures::stream::{BoxStream, StreamExt};
use tokio::sync::mpsc;

/// How many written pages wait to be sent: with the page being sent and the
/// one read after them, a stream holds three pages at a time.
const WRITTEN_AHEAD: usize = 1;

/// Pages from `start` on. `read(position)` gives a page and the position after
/// it (`None`: that was the last page), or `None` when there is nothing more;
/// `write(page)` makes it into what is sent. Reading stops when the stream is
/// dropped (the client went away) or after the first error, which the stream
/// ends with.
pub fn read_ahead<P, R, O, F, Fut, W>(start: P, read: F, write: W) -> BoxStream<'static, sqlx::Result<O>>
where
    P: Send + 'static,
    R: Send + 'static,
    O: Send + 'static,
    F: Fn(P) -> Fut + Send + 'static,
    Fut: Future<Output = sqlx::Result<Option<(R, Option<P>)>>> + Send + 'static,
    W: Fn(R) -> sqlx::Result<O> + Send + Sync + 'static,
{
    let (written, to_send) = mpsc::channel(WRITTEN_AHEAD);
    let write = Arc::new(write);
    tokio::spawn(async move {
        let mut position = Some(start);
        while let Some(at) = position.take() {
            let page = match read(at).await {
                Ok(None) => break,
                Ok(Some((page, next))) => {
                    position = next;
                    Ok(page)
                }
                Err(error) => Err(error),
            };
            let Ok(slot) = written.reserve().await else { break };
            let write = write.clone();
            slot.send(tokio::spawn(async move { write(page?) }));
        }
    });
    futures::stream::unfold(to_send, |mut to_send| async move {
        let writing = to_send.recv().await?;
        let page = writing.await.map_err(|e| sqlx::Error::Io(std::io::Error::other(e))).and_then(|page| page);
        Some((page, to_send))
    })
    .boxed()
}
