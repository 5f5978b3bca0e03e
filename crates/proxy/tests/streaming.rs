//! 1 GiB bodies stream both ways through the gateway with flat memory. Alone in its own test
//! binary, so no other test's allocations show in this process's peak memory.

use bytes::Bytes;
use http::{Method, Request};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use switchyard_testkit::{Backend, BackendConfig, TestGateway};

fn config(backend: &Backend) -> String {
    format!(
        "listeners: [{{name: public, address: '127.0.0.1:0'}}]\naccess_log: {{to: \"off\"}}\n\
         routes: [{{name: main, proxy: {{cluster: c}}}}]\n\
         clusters: [{{name: c, endpoints: [{{address: \"{}\"}}]}}]\n",
        backend.address()
    )
}

/// Peak resident memory of this test process, in bytes.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace()
        .nth(1)
        .unwrap()
        .parse::<u64>()
        .unwrap()
        * 1024
}

const GIB: u64 = 1 << 30;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_gib_streams_both_ways_with_flat_memory() {
    let backend = Backend::start(BackendConfig::named("b")).await;
    let gw = TestGateway::start(&config(&backend)).await;
    let client = Client::builder(TokioExecutor::new()).build_http::<StreamBody<_>>();
    let baseline = peak_rss();

    let chunk = Bytes::from(vec![b'u'; 256 * 1024]);
    let frames = futures_util::stream::iter(
        (0..GIB / chunk.len() as u64)
            .map(move |_| Ok::<_, std::convert::Infallible>(Frame::data(chunk.clone()))),
    );
    let upload = Request::builder()
        .method(Method::POST)
        .uri(format!("http://{}/main", gw.address()))
        .body(StreamBody::new(frames))
        .unwrap();
    let response = client.request(upload).await.unwrap();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let echoed: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(echoed["body_bytes"], GIB, "the backend received every byte");

    let download = Request::builder()
        .uri(format!("http://{}/main?bytes={GIB}", gw.address()))
        .body(http_body_util::Empty::<Bytes>::new())
        .unwrap();
    let client = Client::builder(TokioExecutor::new()).build_http();
    let mut body = client.request(download).await.unwrap().into_body();
    let mut received = 0u64;
    while let Some(frame) = body.frame().await {
        received += frame.unwrap().data_ref().map_or(0, |d| d.len() as u64);
    }
    assert_eq!(received, GIB);
    let growth = peak_rss().saturating_sub(baseline);
    assert!(
        growth < 64 << 20,
        "peak memory grew by {} MiB moving 2 GiB",
        growth >> 20
    );
}
