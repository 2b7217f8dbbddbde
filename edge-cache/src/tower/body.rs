use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

/// The errors a [`CacheBody`] yields: the inner body's, boxed.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

pin_project_lite::pin_project! {
    /// The response body of [`ResponseCache`](super::ResponseCache): the cache's
    /// own bytes, the inner service's body untouched, or the error that cut the
    /// inner body short while it was being read.
    #[derive(Debug)]
    pub struct CacheBody<B> {
        #[pin]
        kind: Kind<B>,
    }
}

pin_project_lite::pin_project! {
    #[project = Projected]
    #[derive(Debug)]
    enum Kind<B> {
        Full { data: Option<Bytes> },
        Inner { #[pin] body: B },
        Failed { error: Option<BoxError> },
    }
}

impl<B> CacheBody<B> {
    pub(crate) fn full(data: Bytes) -> Self {
        CacheBody {
            kind: Kind::Full {
                data: (!data.is_empty()).then_some(data),
            },
        }
    }

    pub(crate) fn inner(body: B) -> Self {
        CacheBody {
            kind: Kind::Inner { body },
        }
    }

    pub(crate) fn failed(error: BoxError) -> Self {
        CacheBody {
            kind: Kind::Failed { error: Some(error) },
        }
    }
}

/// A body an outer layer made (a rejection, say) around the cache: its bytes.
impl<B> From<String> for CacheBody<B> {
    fn from(text: String) -> Self {
        CacheBody::full(Bytes::from(text))
    }
}

/// An empty body (what an outer layer such as a CORS preflight answers with).
impl<B> Default for CacheBody<B> {
    fn default() -> Self {
        CacheBody::full(Bytes::new())
    }
}

impl<B> Body for CacheBody<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.project().kind.project() {
            Projected::Full { data } => Poll::Ready(data.take().map(|d| Ok(Frame::data(d)))),
            Projected::Inner { body } => body.poll_frame(cx).map_err(Into::into),
            Projected::Failed { error } => Poll::Ready(error.take().map(Err)),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Full { data } => data.is_none(),
            Kind::Inner { body } => body.is_end_stream(),
            Kind::Failed { error } => error.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Full { data } => {
                SizeHint::with_exact(data.as_ref().map_or(0, |d| d.len() as u64))
            }
            Kind::Inner { body } => body.size_hint(),
            Kind::Failed { .. } => SizeHint::default(),
        }
    }
}
