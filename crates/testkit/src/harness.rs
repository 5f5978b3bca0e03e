//! Starts the real gateway in-process from a YAML string, on loopback port 0.

use crate::client::{Client, Reply};
use std::net::SocketAddr;
use switchyard_proxy::{Gateway, ReloadHandle};

/// A gateway under test; `shutdown` drains it, dropping it just stops accepting.
#[derive(Debug)]
pub struct TestGateway {
    gateway: Option<Gateway>,
    address: SocketAddr,
}

impl TestGateway {
    /// Parses and validates `yaml` and starts the gateway; panics with the config errors.
    pub async fn start(yaml: &str) -> Self {
        let config = switchyard_config::parse(yaml, "test.yaml").unwrap_or_else(|e| panic!("{e}"));
        let gateway = Gateway::start(&config)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let address = gateway.addresses()[0].1;
        Self {
            gateway: Some(gateway),
            address,
        }
    }

    /// The first listener's address.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn gateway(&self) -> &Gateway {
        self.gateway.as_ref().expect("running")
    }

    pub fn reload_handle(&self) -> ReloadHandle {
        self.gateway().reload_handle()
    }

    pub fn client(&self) -> Client {
        Client::http1(self.address)
    }

    pub fn h2c(&self) -> Client {
        Client::h2c(self.address)
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.client().get(path).await
    }

    /// GET `path` on the admin listener, with `token` as a bearer token if given.
    pub async fn admin_get(&self, path: &str, token: Option<&str>) -> Reply {
        let address = self
            .gateway()
            .admin_address()
            .expect("the config has `admin:`");
        let client = Client::http1(address);
        let mut request = client.request(http::Method::GET, "", path);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let request = request
            .body(http_body_util::Full::new(bytes::Bytes::new()))
            .expect("a valid request");
        client
            .send(request)
            .await
            .expect("the admin listener answers")
    }

    /// The value of one sample on the admin listener's `/metrics`, e.g.
    /// `switchyard_requests_total{route="api",code="2xx"}` (absent: `None`).
    pub async fn metric(&self, series: &str) -> Option<f64> {
        let text = self.admin_get("/metrics", None).await.text();
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
    }

    /// Drains with `deadline`; true if every connection finished in time.
    pub async fn shutdown(mut self, deadline: std::time::Duration) -> bool {
        match self.gateway.take() {
            Some(g) => g.shutdown(deadline).await,
            None => true,
        }
    }
}

impl Drop for TestGateway {
    fn drop(&mut self) {
        if let Some(gateway) = self.gateway.take() {
            tokio::spawn(gateway.shutdown(std::time::Duration::ZERO));
        }
    }
}
