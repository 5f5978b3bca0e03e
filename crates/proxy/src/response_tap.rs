//! A response body that keeps a bounded copy of what it streams to the client, so an
//! `openapi` policy in report mode can check it once it ends; the client's stream is not
//! held back or changed.

use crate::body::{BoxError, ProxyBody};
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use std::pin::Pin;
use std::task::{Context, Poll};
use switchyard_policy::ResponseCheck;

#[derive(Debug)]
pub struct ResponseTap {
    inner: ProxyBody,
    /// Taken when the verdict is given (end of body, error, or drop).
    check: Option<ResponseCheck>,
    copy: Vec<u8>,
    limit: usize,
    /// Longer than `limit`: the body is not checked.
    over: bool,
}

impl ResponseTap {
    pub fn new(inner: ProxyBody, check: ResponseCheck, limit: u64) -> Self {
        Self {
            inner,
            check: Some(check),
            copy: Vec::new(),
            limit: usize::try_from(limit).unwrap_or(usize::MAX),
            over: false,
        }
    }

    fn keep(&mut self, data: &Bytes) {
        if self.over {
            return;
        }
        if self.copy.len() + data.len() > self.limit {
            self.over = true;
            self.copy = Vec::new();
        } else {
            self.copy.extend_from_slice(data);
        }
    }

    /// Gives the verdict: on the whole body when it ended within the limit, else on the
    /// head alone.
    fn conclude(&mut self, ended: bool) {
        if let Some(check) = self.check.take() {
            let body = (ended && !self.over).then_some(self.copy.as_slice());
            check.finish(body);
        }
    }
}

impl Body for ResponseTap {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.keep(data);
                }
            }
            Poll::Ready(None) => this.conclude(true),
            Poll::Ready(Some(Err(_))) => this.conclude(false),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for ResponseTap {
    fn drop(&mut self) {
        // hyper may drop a body it saw end (`is_end_stream`) without polling it to `None`.
        let ended = self.inner.is_end_stream();
        self.conclude(ended);
    }
}
