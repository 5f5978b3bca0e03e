//! A tower layer that reports requests in flight as ORCA utilization, and can shed load.

use crate::format_text;
use http::{HeaderName, Request, Response, StatusCode};
use pin_project_lite::pin_project;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, ready};
use tower::{Layer, Service};

/// The header name [`LoadReportLayer`] writes unless told otherwise.
pub const DEFAULT_HEADER: HeaderName = HeaderName::from_static("endpoint-load-metrics");

/// Wraps services in [`LoadReport`]: counts requests in flight, stamps each response with
/// `application_utilization = in_flight / limit`, and optionally sheds load with 503.
///
/// Every service this layer makes (and every clone of those) shares one in-flight counter, so
/// a server that makes one service per connection counts requests across all connections.
#[derive(Debug, Clone)]
pub struct LoadReportLayer {
    in_flight: Arc<AtomicUsize>,
    settings: Settings,
}

#[derive(Debug, Clone)]
struct Settings {
    header: Option<HeaderName>,
    limit: usize,
    shed_above: Option<usize>,
}

impl LoadReportLayer {
    /// Reports `in_flight / limit` (clamped to [0, 1]) in `endpoint-load-metrics` on every
    /// response; never sheds.
    pub fn new(limit: usize) -> Self {
        Self {
            in_flight: Arc::new(AtomicUsize::new(0)),
            settings: Settings {
                header: Some(DEFAULT_HEADER),
                limit,
                shed_above: None,
            },
        }
    }

    /// Writes the report in `name` instead of `endpoint-load-metrics`.
    pub fn header(mut self, name: HeaderName) -> Self {
        self.settings.header = Some(name);
        self
    }

    /// Writes no report header (for a backend that sheds but does not report).
    pub fn without_header(mut self) -> Self {
        self.settings.header = None;
        self
    }

    /// Answers `503 Service Unavailable` at once, without calling the inner service, when
    /// admitting the request would put more than `limit` requests in flight. The 503 carries
    /// the report header with utilization 1.0 and a `Default` body.
    pub fn shed_above(mut self, limit: usize) -> Self {
        self.settings.shed_above = Some(limit);
        self
    }

    /// Requests in flight now through all services made by this layer.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }
}

impl<S> Layer<S> for LoadReportLayer {
    type Service = LoadReport<S>;

    fn layer(&self, inner: S) -> LoadReport<S> {
        LoadReport {
            inner,
            in_flight: Arc::clone(&self.in_flight),
            settings: self.settings.clone(),
        }
    }
}

/// The service made by [`LoadReportLayer`].
///
/// A request counts as in flight from [`Service::call`] until the inner service's response
/// head is ready (or it fails, or the future is dropped); streaming the body afterwards does
/// not count. The report is computed when the head is ready and counts that request itself, so
/// a lone request on a `limit` of 4 reports 0.25. It replaces any report the inner service set.
#[derive(Debug, Clone)]
pub struct LoadReport<S> {
    inner: S,
    in_flight: Arc<AtomicUsize>,
    settings: Settings,
}

impl<S> LoadReport<S> {
    /// Requests in flight now through this service and all that share its counter.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }

    /// Takes the counter's slot for one request, or `None` if it must be shed.
    fn admit(&self) -> Option<InFlight> {
        let admitted = match self.settings.shed_above {
            None => {
                self.in_flight.fetch_add(1, Ordering::SeqCst);
                true
            }
            Some(max) => self
                .in_flight
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                    (n < max).then_some(n + 1)
                })
                .is_ok(),
        };
        admitted.then(|| InFlight(Arc::clone(&self.in_flight)))
    }
}

impl<S, ReqB, ResB> Service<Request<ReqB>> for LoadReport<S>
where
    S: Service<Request<ReqB>, Response = Response<ResB>>,
    ResB: Default,
{
    type Response = Response<ResB>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqB>) -> Self::Future {
        let state = match self.admit() {
            Some(guard) => State::Called {
                future: self.inner.call(req),
                guard: Some(guard),
            },
            None => State::Shed,
        };
        ResponseFuture {
            state,
            header: self.settings.header.clone(),
            limit: self.settings.limit,
        }
    }
}

/// Releases one request's slot in the in-flight counter when dropped.
#[derive(Debug)]
struct InFlight(Arc<AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

pin_project! {
    /// Response future of [`LoadReport`].
    #[derive(Debug)]
    pub struct ResponseFuture<F> {
        #[pin]
        state: State<F>,
        header: Option<HeaderName>,
        limit: usize,
    }
}

pin_project! {
    #[project = StateProj]
    #[derive(Debug)]
    enum State<F> {
        Called {
            #[pin]
            future: F,
            guard: Option<InFlight>,
        },
        Shed,
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: Default,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let (mut response, utilization) = match this.state.project() {
            StateProj::Called { future, guard } => {
                let result = ready!(future.poll(cx));
                // Count this request itself, then give its slot back.
                let in_flight = guard.take().map_or(1, |g| g.0.load(Ordering::SeqCst));
                (result?, utilization(in_flight, *this.limit))
            }
            StateProj::Shed => {
                let mut response = Response::new(B::default());
                *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
                (response, 1.0)
            }
        };
        if let Some(header) = this.header {
            response
                .headers_mut()
                .insert(header.clone(), format_text(utilization));
        }
        Poll::Ready(Ok(response))
    }
}

fn utilization(in_flight: usize, limit: usize) -> f64 {
    match limit {
        0 => 1.0,
        limit => (in_flight as f64 / limit as f64).min(1.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::convert::Infallible;
    use std::sync::atomic::AtomicUsize;
    use tokio::sync::{Notify, mpsc};
    use tower::ServiceExt;

    type Held = (Arc<Notify>, Arc<AtomicUsize>);

    /// A service that answers 200 only after one `notify_one`, counting its calls.
    fn held() -> (
        Held,
        impl Service<
            Request<()>,
            Response = Response<String>,
            Error = Infallible,
            Future = impl Future + Send,
        > + Clone
        + Send
        + 'static,
    ) {
        let notify = Arc::new(Notify::new());
        let calls = Arc::new(AtomicUsize::new(0));
        let (n, c) = (Arc::clone(&notify), Arc::clone(&calls));
        let service = tower::service_fn(move |_req: Request<()>| {
            c.fetch_add(1, Ordering::SeqCst);
            let n = Arc::clone(&n);
            async move {
                n.notified().await;
                Ok::<_, Infallible>(Response::new("ok".to_owned()))
            }
        });
        ((notify, calls), service)
    }

    fn report(response: &Response<String>) -> Option<&str> {
        response
            .headers()
            .get(DEFAULT_HEADER)
            .map(|v| v.to_str().unwrap())
    }

    /// Bounds every wait, so a broken test fails instead of hanging.
    const PATIENCE: std::time::Duration = std::time::Duration::from_secs(10);

    async fn until_in_flight(layer: &LoadReportLayer, n: usize) {
        let wait = async {
            while layer.in_flight() != n {
                tokio::task::yield_now().await;
            }
        };
        tokio::time::timeout(PATIENCE, wait)
            .await
            .unwrap_or_else(|_| panic!("never {n} in flight, {} are", layer.in_flight()));
    }

    async fn next<T>(rx: &mut mpsc::UnboundedReceiver<T>) -> T {
        let received = tokio::time::timeout(PATIENCE, rx.recv()).await;
        received
            .expect("no response in time")
            .expect("senders alive")
    }

    #[tokio::test]
    async fn lone_request_counts_itself() {
        let layer = LoadReportLayer::new(4);
        let service = layer.layer(tower::service_fn(|_req: Request<()>| async {
            Ok::<_, Infallible>(Response::new(String::new()))
        }));
        let response = service.oneshot(Request::new(())).await.unwrap();
        assert_eq!(
            report(&response),
            Some("TEXT application_utilization=0.250")
        );
        assert_eq!(layer.in_flight(), 0);
    }

    #[tokio::test]
    async fn reports_requests_in_flight() {
        let layer = LoadReportLayer::new(10);
        let ((notify, _), inner) = held();
        let (tx, mut rx) = mpsc::unbounded_channel();
        for _ in 0..4 {
            // Each request on its own clone of a service made per "connection".
            let service = layer.layer(inner.clone());
            let tx = tx.clone();
            tokio::spawn(async move {
                let response = service.oneshot(Request::new(())).await.unwrap();
                tx.send(report(&response).unwrap().to_owned()).unwrap();
            });
        }
        until_in_flight(&layer, 4).await;
        for expected in ["0.400", "0.300", "0.200", "0.100"] {
            notify.notify_one();
            let value = next(&mut rx).await;
            assert_eq!(value, format!("TEXT application_utilization={expected}"));
        }
        assert_eq!(layer.in_flight(), 0);
    }

    #[tokio::test]
    async fn utilization_is_capped_at_one_without_shedding() {
        let layer = LoadReportLayer::new(2);
        let ((notify, calls), inner) = held();
        let (tx, mut rx) = mpsc::unbounded_channel();
        for _ in 0..3 {
            let service = layer.layer(inner.clone());
            let tx = tx.clone();
            tokio::spawn(async move {
                let response = service.oneshot(Request::new(())).await.unwrap();
                tx.send((response.status(), report(&response).unwrap().to_owned()))
                    .unwrap();
            });
        }
        until_in_flight(&layer, 3).await;
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        notify.notify_one();
        let (status, value) = next(&mut rx).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(value, "TEXT application_utilization=1.000");
        for _ in 0..2 {
            notify.notify_one();
            next(&mut rx).await;
        }
        assert_eq!(layer.in_flight(), 0);
    }

    #[tokio::test]
    async fn sheds_above_the_limit_without_calling_inner() {
        let layer = LoadReportLayer::new(2).shed_above(2);
        let ((notify, calls), inner) = held();
        let service = layer.layer(inner);
        let (tx, mut rx) = mpsc::unbounded_channel();
        for _ in 0..2 {
            let service = service.clone();
            let tx = tx.clone();
            tokio::spawn(async move {
                let response = service.oneshot(Request::new(())).await.unwrap();
                tx.send((response.status(), report(&response).unwrap().to_owned()))
                    .unwrap();
            });
        }
        until_in_flight(&layer, 2).await;

        let shed = service.clone().oneshot(Request::new(())).await.unwrap();
        assert_eq!(shed.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(report(&shed), Some("TEXT application_utilization=1.000"));
        assert_eq!(shed.body(), "");
        assert_eq!(
            calls.load(Ordering::SeqCst),
            2,
            "shed request reached inner"
        );
        assert_eq!(service.in_flight(), 2);

        notify.notify_one();
        let (status, value) = next(&mut rx).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(value, "TEXT application_utilization=1.000");
        // A slot is free again: the next request is admitted.
        let (service, tx_admitted) = (service.clone(), tx.clone());
        tokio::spawn(async move {
            let response = service.oneshot(Request::new(())).await.unwrap();
            tx_admitted
                .send((response.status(), report(&response).unwrap().to_owned()))
                .unwrap();
        });
        until_in_flight(&layer, 2).await;
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        for _ in 0..2 {
            notify.notify_one();
            assert_eq!(next(&mut rx).await.0, StatusCode::OK);
        }
        assert_eq!(layer.in_flight(), 0);
    }

    #[tokio::test]
    async fn custom_header_and_no_header() {
        let ok = || {
            tower::service_fn(|_req: Request<()>| async {
                Ok::<_, Infallible>(Response::new(String::new()))
            })
        };
        let name = HeaderName::from_static("x-load");
        let response = LoadReportLayer::new(1)
            .header(name.clone())
            .layer(ok())
            .oneshot(Request::new(()))
            .await
            .unwrap();
        assert_eq!(
            response.headers().get(&name).unwrap(),
            "TEXT application_utilization=1.000"
        );
        assert!(response.headers().get(DEFAULT_HEADER).is_none());

        let layer = LoadReportLayer::new(1).without_header().shed_above(0);
        let response = layer.layer(ok()).oneshot(Request::new(())).await.unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(response.headers().is_empty());
    }

    #[tokio::test]
    async fn errors_and_dropped_futures_release_their_slot() {
        let layer = LoadReportLayer::new(1).shed_above(1);
        let failing = layer.layer(tower::service_fn(|_req: Request<()>| async {
            Err::<Response<String>, _>("boom")
        }));
        assert_eq!(failing.oneshot(Request::new(())).await.unwrap_err(), "boom");
        assert_eq!(layer.in_flight(), 0);

        let ((_notify, _), inner) = held();
        let mut service = layer.layer(inner);
        let future = service.ready().await.unwrap().call(Request::new(()));
        assert_eq!(layer.in_flight(), 1);
        drop(future);
        assert_eq!(layer.in_flight(), 0);
    }

    #[test]
    fn utilization_handles_a_zero_limit() {
        assert_eq!(utilization(0, 0), 1.0);
        assert_eq!(utilization(1, 4), 0.25);
        assert_eq!(utilization(9, 4), 1.0);
    }
}
