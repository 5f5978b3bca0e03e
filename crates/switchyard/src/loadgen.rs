//! `switchyard loadgen`: an open-loop HTTP/1.1 load generator for benchmarks (bench/fleet.sh).
//!
//! Request `i` is due at `t0 + i / rate` whatever happened to the earlier ones, and its latency
//! counts from that moment, so time spent waiting in the generator (for a free connection, or
//! because it fell behind) is charged to the request: no coordinated omission. Exactly
//! `rate * duration` requests are sent over a pool of at most `--connections` keep-alive
//! connections; each ends by `--timeout` after it was due (status 0 then, as for a connect or
//! I/O failure), so the whole run ends by `duration + timeout`. Every request is written to a
//! CSV file; a summary goes to stdout as one JSON line.

use anyhow::Context;
use bytes::Bytes;
use http::{Request, Uri};
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Semaphore, mpsc};
use tokio::time::Instant;

/// What `switchyard loadgen` was asked to do.
#[derive(Debug, Clone, clap::Args)]
pub struct LoadgenArgs {
    /// Where to send `GET` requests, e.g. `http://127.0.0.1:8080/`.
    #[arg(long)]
    pub url: Uri,
    /// Requests per second (fixed arrival rate).
    #[arg(long)]
    pub rate: f64,
    /// How long to send for; `rate * duration` requests in all.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub duration: Duration,
    /// Most connections (and so requests in flight) at once; a request waits for one.
    #[arg(long, default_value_t = 256)]
    pub connections: usize,
    /// A request not answered this long after it was due fails (status 0).
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    /// CSV file with one line per request.
    #[arg(long)]
    pub out: PathBuf,
    /// Unix time in seconds (fractions allowed) of request 0 (default: at once), so that the
    /// CSV's times line up with other processes' schedules.
    #[arg(long, value_name = "UNIX_SECONDS")]
    pub t0: Option<f64>,
}

/// One request's fate.
#[derive(Debug, Clone)]
struct Record {
    index: u64,
    /// When it was due, after t0.
    scheduled: Duration,
    /// From when it was due until its response ended or it failed.
    latency: Duration,
    /// HTTP status, or 0 when no response came.
    status: u16,
    /// The `x-backend` response header, if any.
    backend: Option<String>,
    /// `timeout`, `connect` or `io` when status is 0.
    error: &'static str,
}

type HttpClient = Client<HttpConnector, Empty<Bytes>>;

pub fn run(args: LoadgenArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        args.rate > 0.0 && args.rate.is_finite(),
        "--rate must be positive"
    );
    anyhow::ensure!(args.connections > 0, "--connections must be positive");
    anyhow::ensure!(
        args.url.scheme_str() == Some("http") && args.url.authority().is_some(),
        "--url must be http://host:port/path"
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let (records, lag) = runtime.block_on(generate(&args));
    drop(runtime);
    write_csv(&args.out, &records)?;
    println!("{}", summary(&args, &records, &lag));
    Ok(ExitCode::SUCCESS)
}

/// How late the generator itself started requests (its own health, not the server's).
#[derive(Debug, Default)]
struct Lag {
    total: Duration,
    max: Duration,
}

async fn generate(args: &LoadgenArgs) -> (Vec<Record>, Lag) {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    connector.set_connect_timeout(Some(args.timeout));
    let client: HttpClient = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(args.connections)
        .build(connector);
    let total = (args.rate * args.duration.as_secs_f64()).round() as u64;
    let t0 = match args.t0 {
        Some(unix) => crate::backend_cmd::instant_of_unix(unix),
        None => Instant::now(),
    };
    let slots = Arc::new(Semaphore::new(args.connections));
    let (tx, mut rx) = mpsc::unbounded_channel();
    tokio::time::sleep_until(t0).await;
    let mut lag = Lag::default();
    for index in 0..total {
        let scheduled = Duration::from_secs_f64(index as f64 / args.rate);
        let due = t0 + scheduled;
        if due > Instant::now() {
            tokio::time::sleep_until(due).await;
        }
        let late = Instant::now().saturating_duration_since(due);
        lag.total += late;
        lag.max = lag.max.max(late);
        let request = Request::get(args.url.clone())
            .body(Empty::new())
            .expect("valid request");
        let (client, slots, tx) = (client.clone(), Arc::clone(&slots), tx.clone());
        let deadline = due + args.timeout;
        tokio::spawn(async move {
            let (status, backend, error) = send(&client, &slots, request, deadline).await;
            let record = Record {
                index,
                scheduled,
                latency: Instant::now().saturating_duration_since(due),
                status,
                backend,
                error,
            };
            let _ = tx.send(record);
        });
    }
    drop(tx);
    // Every request ends by its own deadline; this bound only guards against a bug.
    let hard_stop = t0 + args.duration + args.timeout + Duration::from_secs(2);
    let mut records = Vec::with_capacity(total as usize);
    while let Ok(Some(record)) = tokio::time::timeout_at(hard_stop, rx.recv()).await {
        records.push(record);
    }
    records.sort_by_key(|r| r.index);
    (records, lag)
}

/// Sends one request and reads its body, all before `deadline`.
async fn send(
    client: &HttpClient,
    slots: &Semaphore,
    request: Request<Empty<Bytes>>,
    deadline: Instant,
) -> (u16, Option<String>, &'static str) {
    let exchange = async {
        let _slot = slots.acquire().await.expect("never closed");
        let response = client
            .request(request)
            .await
            .map_err(|e| if e.is_connect() { "connect" } else { "io" })?;
        let status = response.status().as_u16();
        let backend = response
            .headers()
            .get("x-backend")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        response.into_body().collect().await.map_err(|_| "io")?;
        Ok::<_, &'static str>((status, backend))
    };
    match tokio::time::timeout_at(deadline, exchange).await {
        Ok(Ok((status, backend))) => (status, backend, ""),
        Ok(Err(error)) => (0, None, error),
        Err(_) => (0, None, "timeout"),
    }
}

fn write_csv(path: &PathBuf, records: &[Record]) -> anyhow::Result<()> {
    let file =
        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut out = std::io::BufWriter::new(file);
    writeln!(out, "index,scheduled_ms,latency_ms,status,backend,error")?;
    for r in records {
        writeln!(
            out,
            "{},{:.3},{:.3},{},{},{}",
            r.index,
            r.scheduled.as_secs_f64() * 1000.0,
            r.latency.as_secs_f64() * 1000.0,
            r.status,
            r.backend.as_deref().unwrap_or(""),
            r.error
        )?;
    }
    out.flush()?;
    Ok(())
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    // The epsilon keeps float error (0.999 * 1000 = 999.0000000000001) from adding a rank.
    let rank = ((p / 100.0) * sorted.len() as f64 - 1e-9).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

fn summary(args: &LoadgenArgs, records: &[Record], lag: &Lag) -> serde_json::Value {
    let sent = (args.rate * args.duration.as_secs_f64()).round() as u64;
    let mut latencies: Vec<f64> = records
        .iter()
        .map(|r| r.latency.as_secs_f64() * 1000.0)
        .collect();
    latencies.sort_by(f64::total_cmp);
    let errors = records.iter().filter(|r| !(200..300).contains(&r.status));
    let errors = errors.count() as u64 + sent.saturating_sub(records.len() as u64);
    let mut statuses: BTreeMap<String, u64> = BTreeMap::new();
    for r in records {
        let key = match r.status {
            0 => r.error.to_owned(),
            s => s.to_string(),
        };
        *statuses.entry(key).or_default() += 1;
    }
    let round = |v: f64| (v * 1000.0).round() / 1000.0;
    serde_json::json!({
        "sent": sent,
        "recorded": records.len(),
        "errors": errors,
        "error_rate": if sent > 0 { round(errors as f64 / sent as f64) } else { 0.0 },
        "statuses": statuses,
        "p50_ms": round(percentile(&latencies, 50.0)),
        "p99_ms": round(percentile(&latencies, 99.0)),
        "p999_ms": round(percentile(&latencies, 99.9)),
        "max_ms": round(latencies.last().copied().unwrap_or(f64::NAN)),
        "dispatch_lag_mean_ms": round(
            lag.total.as_secs_f64() * 1000.0 / records.len().max(1) as f64
        ),
        "dispatch_lag_max_ms": round(lag.max.as_secs_f64() * 1000.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<f64> = (1..=1000).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 500.0);
        assert_eq!(percentile(&v, 99.0), 990.0);
        assert_eq!(percentile(&v, 99.9), 999.0);
        assert!(percentile(&[], 50.0).is_nan());
    }
}
