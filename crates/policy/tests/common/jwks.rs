//! For the JWKS URL tests: a tiny HTTP(S) server on 127.0.0.1 whose answer can be changed
//! and which can be stopped, a `jwt` policy that fetches from it, and signed tokens.

#![allow(dead_code)]

use crate::common::{NOW, Req, chain, policy};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use switchyard_config::{JwksUrl, JwtPolicy, PolicyKind};
use switchyard_core::ManualClock;
use switchyard_policy::Chain;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinSet;

pub const CA_PEM: &str = include_str!("../keys/jwks-ca.pem");
const SERVER_PEM: &str = include_str!("../keys/jwks-server.pem");
const SERVER_KEY: &str = include_str!("../keys/jwks-server.key");
const JWKS: &str = include_str!("../keys/jwks.json");
const RSA_KEY: &str = include_str!("../keys/rsa.key");
const EC256_KEY: &str = include_str!("../keys/ec256.key");
pub const SECRET: &str = "a-test-secret-that-is-long-enough-for-hs512";

/// What the server answers.
#[derive(Debug, Clone)]
pub enum Reply {
    /// 200 with this JSON.
    Json(String),
    /// This status, no body.
    Status(u16),
    /// Reads the request, then never answers.
    Hang,
    /// 200 with this many bytes, the length not declared (the body ends with the connection).
    Big(usize),
}

/// A JWKS server on 127.0.0.1 (port 0), plain or TLS with the test CA's certificate.
pub struct JwksServer {
    pub url: String,
    reply: Arc<Mutex<Reply>>,
    hits: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl JwksServer {
    pub async fn start(tls: bool, reply: Reply) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let scheme = if tls { "https" } else { "http" };
        let reply = Arc::new(Mutex::new(reply));
        let hits = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let acceptor = tls.then(acceptor);
        let conn = Conn {
            reply: reply.clone(),
            hits: hits.clone(),
            requests: requests.clone(),
        };
        let task = tokio::spawn(accept_loop(listener, acceptor, conn));
        Self {
            url: format!("{scheme}://127.0.0.1:{port}/jwks?tenant=t1"),
            reply,
            hits,
            requests,
            task,
        }
    }

    pub fn set(&self, reply: Reply) {
        *self.reply.lock().unwrap() = reply;
    }

    /// Requests read so far.
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    /// The head of each request read.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }

    /// Closes the port and every open connection: fetches are refused from now on.
    pub fn stop(&self) {
        self.task.abort();
    }

    /// Waits (at most 10 s) until the server has read `n` requests.
    pub async fn wait_for_hits(&self, n: usize) {
        for _ in 0..2000 {
            if self.hits() >= n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("the server saw {} requests, not {n}", self.hits());
    }
}

impl Drop for JwksServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Clone)]
struct Conn {
    reply: Arc<Mutex<Reply>>,
    hits: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<String>>>,
}

async fn accept_loop(listener: TcpListener, tls: Option<tokio_rustls::TlsAcceptor>, conn: Conn) {
    // Owned here, so stopping the loop also ends every connection.
    let mut connections = JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let (tls, conn) = (tls.clone(), conn.clone());
        connections.spawn(async move {
            match tls {
                None => conn.serve(stream).await,
                Some(acceptor) => {
                    if let Ok(stream) = acceptor.accept(stream).await {
                        conn.serve(stream).await;
                    }
                }
            }
        });
        while connections.try_join_next().is_some() {}
    }
}

impl Conn {
    async fn serve<S: AsyncRead + AsyncWrite + Unpin>(&self, mut stream: S) {
        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        while !head.ends_with(b"\r\n\r\n") {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
        self.requests
            .lock()
            .unwrap()
            .push(String::from_utf8_lossy(&head).into_owned());
        self.hits.fetch_add(1, Ordering::SeqCst);
        let reply = self.reply.lock().unwrap().clone();
        let answer = match reply {
            Reply::Json(body) => format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            ),
            Reply::Status(code) => {
                format!("HTTP/1.1 {code} Nope\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            }
            Reply::Hang => return std::future::pending().await,
            Reply::Big(n) => format!(
                "HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n{{\"keys\": [], \"pad\": \"{}\"}}",
                "x".repeat(n)
            ),
        };
        let _ = stream.write_all(answer.as_bytes()).await;
        let _ = stream.shutdown().await;
    }
}

fn acceptor() -> tokio_rustls::TlsAcceptor {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(SERVER_PEM.as_bytes())
        .collect::<Result<_, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_slice(SERVER_KEY.as_bytes()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}

/// A JWKS document with the test JWKS's keys of these `kid`s (`rsa-jwk`, `ec-jwk`).
pub fn jwks(kids: &[&str]) -> Reply {
    let all: Value = serde_json::from_str(JWKS).unwrap();
    let keys: Vec<&Value> = all["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| kids.contains(&k["kid"].as_str().unwrap()))
        .collect();
    Reply::Json(json!({ "keys": keys }).to_string())
}

/// A `jwt` policy fetching from `url`: refresh 60s, max_stale 300s, timeout 1s.
pub fn remote(url: &str, ca_pem: Option<&str>) -> JwtPolicy {
    JwtPolicy {
        algorithms: vec![
            "RS256".into(),
            "RS384".into(),
            "ES256".into(),
            "HS256".into(),
        ],
        keys: Vec::new(),
        jwks: None,
        jwks_url: Some(JwksUrl {
            url: url.to_owned(),
            refresh: Duration::from_secs(60),
            max_stale: Duration::from_secs(300),
            timeout: Duration::from_secs(1),
            ca_pem: ca_pem.map(str::to_owned),
        }),
        issuers: vec!["https://issuer.test".to_owned()],
        audiences: vec!["movies".to_owned()],
        leeway: Duration::from_secs(30),
        forward_claims: Vec::new(),
        keep_credential: true,
    }
}

pub fn users(p: JwtPolicy, clock: &ManualClock) -> Chain {
    chain(&[policy("users", PolicyKind::Jwt(p))], clock)
}

/// A token for `sub` signed with the test key of `kid` (`rsa-jwk` RS256, `ec-jwk` ES256,
/// `hs` HS256; any other `kid` is signed with the RSA key).
pub fn token(kid: &str, sub: &str) -> String {
    let claims =
        json!({"sub": sub, "iss": "https://issuer.test", "aud": "movies", "exp": NOW + 3600});
    let (alg, key) = match kid {
        "ec-jwk" => (
            Algorithm::ES256,
            EncodingKey::from_ec_pem(EC256_KEY.as_bytes()).unwrap(),
        ),
        "hs" => (
            Algorithm::HS256,
            EncodingKey::from_secret(SECRET.as_bytes()).unwrap(),
        ),
        _ => (
            Algorithm::RS256,
            EncodingKey::from_rsa_pem(RSA_KEY.as_bytes()).unwrap(),
        ),
    };
    let mut header = Header::new(alg);
    header.kid = Some(kid.to_owned());
    encode(&header, &claims, &key).unwrap()
}

/// "passed" or the refusal's reason.
pub async fn reason(chain: &Chain, token: &str) -> &'static str {
    match Req::get("/").bearer(token).run_async(chain).await {
        Ok(_) => "passed",
        Err(answer) => answer.reason,
    }
}

/// Moves the clock a second at a time (so retries come due) until the token passes (at most
/// 10 s of real time).
pub async fn until_passes(chain: &Chain, token: &str, clock: &ManualClock) {
    for _ in 0..2000 {
        if reason(chain, token).await == "passed" {
            return;
        }
        clock.advance(Duration::from_secs(1));
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("the token never passed");
}
