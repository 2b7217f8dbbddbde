//! [`LoggedBody`]: counts the response bytes and writes the line at the end.

use std::pin::Pin;
use std::task::{Context, Poll};

use http_body::{Body, Frame, SizeHint};

use crate::RequestLog;

pin_project_lite::pin_project! {
    /// A response body that counts its bytes and writes the access line when it
    /// ends (or is dropped — the [`RequestLog`] writes it then — e.g. for HEAD or
    /// when the client leaves).
    pub struct LoggedBody<B> {
        #[pin]
        body: B,
        entry: Option<RequestLog>,
    }
}

impl<B> LoggedBody<B> {
    /// `body`, logged to `entry` (none: a body that logs nothing).
    pub(crate) fn new(body: B, entry: Option<RequestLog>) -> Self {
        LoggedBody { body, entry }
    }
}

/// A body an outer layer made (a rejection, say): not logged here.
impl<B: From<String>> From<String> for LoggedBody<B> {
    fn from(text: String) -> Self {
        LoggedBody::new(B::from(text), None)
    }
}

/// An empty body (what an outer layer such as a CORS preflight answers with).
impl<B: Default> Default for LoggedBody<B> {
    fn default() -> Self {
        LoggedBody::new(B::default(), None)
    }
}

impl<B> std::fmt::Debug for LoggedBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoggedBody").finish_non_exhaustive()
    }
}

impl<B: Body> Body for LoggedBody<B>
where
    B::Data: bytes::Buf,
{
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let next = this.body.poll_frame(cx);
        match &next {
            Poll::Ready(Some(Ok(frame))) => {
                if let (Some(data), Some(entry)) = (frame.data_ref(), this.entry.as_mut()) {
                    entry.add_bytes(bytes::Buf::remaining(data) as u64);
                }
            }
            Poll::Ready(None | Some(Err(_))) => {
                if let Some(entry) = this.entry.take() {
                    entry.finish();
                }
            }
            Poll::Pending => {}
        }
        next
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
