//! The access log: one JSON line per request, written exactly once (when the response body is
//! done or dropped), by a background thread so request tasks never block on I/O.

use crate::body::{BoxError, ProxyBody};
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use std::io::Write;
use std::pin::Pin;
use std::sync::mpsc;
use std::task::{Context, Poll};
use std::time::{Instant, SystemTime};
use switchyard_config::AccessLogTarget;

/// Where log lines go; cheap to clone.
#[derive(Debug, Clone)]
pub struct AccessLog {
    sender: Option<mpsc::Sender<String>>,
}

impl AccessLog {
    /// Starts the writer thread for `target` (none for `Off`).
    pub fn start(target: &AccessLogTarget) -> std::io::Result<Self> {
        let out: Box<dyn Write + Send> = match target {
            AccessLogTarget::Off => return Ok(Self { sender: None }),
            AccessLogTarget::Stdout => Box::new(std::io::stdout()),
            AccessLogTarget::Stderr => Box::new(std::io::stderr()),
            AccessLogTarget::File(path) => Box::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)?,
            ),
        };
        let (sender, receiver) = mpsc::channel::<String>();
        std::thread::Builder::new()
            .name("access-log".into())
            .spawn(move || write_lines(receiver, out))?;
        Ok(Self {
            sender: Some(sender),
        })
    }

    pub fn is_on(&self) -> bool {
        self.sender.is_some()
    }

    fn write(&self, line: String) {
        if let Some(sender) = &self.sender {
            let _ = sender.send(line);
        }
    }
}

fn write_lines(receiver: mpsc::Receiver<String>, out: Box<dyn Write + Send>) {
    let mut out = std::io::BufWriter::new(out);
    while let Ok(line) = receiver.recv() {
        let _ = writeln!(out, "{line}");
        while let Ok(line) = receiver.try_recv() {
            let _ = writeln!(out, "{line}");
        }
        let _ = out.flush();
    }
}

/// What the access log records about one request; filled in as the request moves on.
#[derive(Debug, Default)]
pub struct LogRecord {
    pub method: String,
    pub host: String,
    pub path: String,
    pub protocol: &'static str,
    pub client: String,
    pub request_id: String,
    pub route: Option<String>,
    pub cluster: Option<String>,
    pub endpoint: Option<String>,
    pub status: u16,
    pub reason: Option<&'static str>,
    /// The policy that answered the request itself, if one did.
    pub policy: Option<std::sync::Arc<str>>,
    pub attempts: u32,
    /// Counts the request body as it streams; read when the line is written.
    pub request_body: Option<std::sync::Arc<crate::body::BodyWatch>>,
    pub upstream_ms: Option<f64>,
}

/// A response body that counts what it sends and writes the log line when it ends.
#[derive(Debug)]
pub struct LoggedBody {
    inner: ProxyBody,
    log: Option<(AccessLog, LogRecord, Instant)>,
    bytes: u64,
}

impl LoggedBody {
    pub fn new(inner: ProxyBody, log: &AccessLog, record: LogRecord, start: Instant) -> Self {
        let log = log.is_on().then(|| (log.clone(), record, start));
        Self {
            inner,
            log,
            bytes: 0,
        }
    }
}

impl Body for LoggedBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled {
            this.bytes += frame.data_ref().map_or(0, |d| d.len() as u64);
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

impl Drop for LoggedBody {
    fn drop(&mut self) {
        if let Some((log, record, start)) = self.log.take() {
            log.write(render(&record, start, self.bytes));
        }
    }
}

fn render(r: &LogRecord, start: Instant, response_bytes: u64) -> String {
    let time = humantime_now();
    serde_json::json!({
        "time": time,
        "request_id": r.request_id,
        "client": r.client,
        "method": r.method,
        "host": r.host,
        "path": r.path,
        "protocol": r.protocol,
        "route": r.route,
        "cluster": r.cluster,
        "endpoint": r.endpoint,
        "status": r.status,
        "reason": r.reason,
        "policy": r.policy.as_deref(),
        "attempts": r.attempts,
        "request_bytes": r.request_body.as_ref().map_or(0, |w| w.bytes.load(std::sync::atomic::Ordering::Relaxed)),
        "response_bytes": response_bytes,
        "upstream_ms": r.upstream_ms,
        "duration_ms": start.elapsed().as_secs_f64() * 1000.0,
    })
    .to_string()
}

/// RFC 3339 UTC time with milliseconds, without a date crate.
fn humantime_now() -> String {
    let since = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = since.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        since.subsec_millis()
    )
}

/// Howard Hinnant's days-to-civil algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_787), (2026, 11, 30));
    }
}
