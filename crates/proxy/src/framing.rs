//! What hyper cannot tell the pipeline about an HTTP/1 connection, learned from its bytes.
//!
//! hyper drops `Content-Length` from a request head that also has `Transfer-Encoding` (RFC 9112
//! 6.3 lets a server do that if it closes the connection afterwards), so the request the
//! pipeline sees no longer shows that its framing was ambiguous. [`Watched`] wraps the client's
//! socket, follows the same message framing hyper follows over the bytes hyper reads (heads,
//! then `Content-Length` or chunked bodies), and records for each request head, in order,
//! whether it had both; the connection's service takes one verdict per request ([`Verdicts`]).
//!
//! It also bounds the wait before the connection's protocol is known: hyper-util's auto builder
//! waits without limit for the bytes that could be the HTTP/2 preface, and hyper's HTTP/1
//! header-read timeout only starts after that, so a client that sends nothing (or part of the
//! preface) would hold the connection forever.

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Request extension: the request head had both `Content-Length` and `Transfer-Encoding`.
#[derive(Debug, Clone, Copy)]
pub struct AmbiguousFraming;

/// One connection's verdicts, one per HTTP/1 request head, taken in request order.
#[derive(Debug, Clone, Default)]
pub struct Verdicts(Arc<Mutex<VecDeque<bool>>>);

impl Verdicts {
    /// Whether the connection's next request was framed ambiguously.
    pub fn next_is_ambiguous(&self) -> bool {
        self.0
            .lock()
            .ok()
            .and_then(|mut q| q.pop_front())
            .unwrap_or(false)
    }

    fn push(&self, ambiguous: bool) {
        if let Ok(mut q) = self.0.lock() {
            q.push_back(ambiguous);
        }
    }
}

/// A client socket whose reads are watched; writes pass straight through.
#[derive(Debug)]
pub struct Watched<S> {
    inner: S,
    framing: Framing,
    verdicts: Verdicts,
    /// How much of the HTTP/2 preface the first bytes matched.
    preface: usize,
    /// Until the protocol is known: when to give up on the client.
    deadline: Option<Pin<Box<Sleep>>>,
    max_line: usize,
}

/// Wraps `inner`; `max_line` bounds a head line (longer heads are refused by hyper anyway) and
/// `first_bytes` is how long the client has to show which protocol it speaks.
pub fn watch<S>(inner: S, max_line: usize, first_bytes: Duration) -> (Watched<S>, Verdicts) {
    let verdicts = Verdicts::default();
    let watched = Watched {
        inner,
        framing: Framing::Head(Head::default()),
        verdicts: verdicts.clone(),
        preface: 0,
        deadline: Some(Box::pin(tokio::time::sleep(first_bytes))),
        max_line,
    };
    (watched, verdicts)
}

impl<S> Watched<S> {
    fn saw(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if self.deadline.is_none() {
                break;
            }
            if H2_PREFACE[self.preface] != b {
                self.deadline = None; // HTTP/1: hyper's header-read timeout takes over
            } else {
                self.preface += 1;
                if self.preface == H2_PREFACE.len() {
                    self.deadline = None; // HTTP/2
                }
            }
        }
        self.framing.feed(bytes, &self.verdicts, self.max_line);
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                this.saw(&buf.filled()[before..]);
                Poll::Ready(Ok(()))
            }
            Poll::Pending => {
                let expired = this
                    .deadline
                    .as_mut()
                    .is_some_and(|deadline| deadline.as_mut().poll(cx).is_ready());
                if expired {
                    let e = io::Error::new(io::ErrorKind::TimedOut, "no request head in time");
                    return Poll::Ready(Err(e));
                }
                Poll::Pending
            }
            failed => failed,
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// Where the byte stream is, mirroring hyper's HTTP/1 server (`proto/h1/role.rs`, `decode.rs`).
/// On anything hyper would refuse, it stops watching: hyper then closes the connection.
#[derive(Debug)]
enum Framing {
    Head(Head),
    Length(u64),
    Chunked(Chunk),
    Off,
}

impl Framing {
    fn feed(&mut self, mut bytes: &[u8], verdicts: &Verdicts, max_line: usize) {
        while let Some(&b) = bytes.first() {
            match self {
                Framing::Off => return,
                Framing::Length(left) | Framing::Chunked(Chunk::Data(left)) => {
                    let take = (*left).min(bytes.len() as u64);
                    *left -= take;
                    bytes = &bytes[take as usize..];
                    if *left == 0 {
                        *self = match self {
                            Framing::Length(_) => Framing::Head(Head::default()),
                            _ => Framing::Chunked(Chunk::DataCr),
                        };
                    }
                    continue;
                }
                Framing::Chunked(chunk) => {
                    *self = match chunk.step(b) {
                        Some(Chunk::End) => Framing::Head(Head::default()),
                        Some(next) => Framing::Chunked(next),
                        None => Framing::Off,
                    };
                }
                Framing::Head(head) => {
                    if let Some(next) = head.step(b, verdicts, max_line) {
                        *self = next;
                    }
                }
            }
            bytes = &bytes[1..];
        }
    }
}

/// A request head being read, line by line.
#[derive(Debug, Default)]
struct Head {
    line: Vec<u8>,
    request_line: bool,
    content_length: bool,
    length: Option<u64>,
    bad_length: bool,
    transfer_encoding: bool,
    chunked: bool,
}

impl Head {
    /// Takes one byte; returns the next state once the head ends (or can't be followed).
    fn step(&mut self, b: u8, verdicts: &Verdicts, max_line: usize) -> Option<Framing> {
        if b != b'\n' {
            if self.line.len() >= max_line {
                return Some(Framing::Off);
            }
            self.line.push(b);
            return None;
        }
        let mut line = std::mem::take(&mut self.line);
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        let next = if !self.request_line {
            // Empty lines before a request line are skipped, as httparse does.
            self.request_line = !line.is_empty();
            line.ends_with(b" HTTP/2.0").then_some(Framing::Off)
        } else if line.is_empty() {
            Some(self.end(verdicts))
        } else {
            self.header(&line);
            None
        };
        line.clear();
        self.line = line;
        next
    }

    fn header(&mut self, line: &[u8]) {
        let Some(colon) = line.iter().position(|&c| c == b':') else {
            return;
        };
        let (name, value) = (&line[..colon], line[colon + 1..].trim_ascii());
        if name.eq_ignore_ascii_case(b"transfer-encoding") {
            // As hyper: the last Transfer-Encoding line's last coding decides.
            self.transfer_encoding = true;
            self.chunked = value
                .rsplit(|&c| c == b',')
                .next()
                .is_some_and(|coding| coding.trim_ascii().eq_ignore_ascii_case(b"chunked"));
        } else if name.eq_ignore_ascii_case(b"content-length") {
            self.content_length = true;
            match (parse_length(value), self.length) {
                (Some(n), None) => self.length = Some(n),
                (Some(n), Some(m)) if n == m => {}
                _ => self.bad_length = true,
            }
        }
    }

    fn end(&mut self, verdicts: &Verdicts) -> Framing {
        verdicts.push(self.content_length && self.transfer_encoding);
        match (self.transfer_encoding, self.length) {
            (true, _) if self.chunked => Framing::Chunked(Chunk::Size(0)),
            (true, _) => Framing::Off,
            (false, _) if self.bad_length => Framing::Off,
            (false, Some(n)) if n > 0 => Framing::Length(n),
            (false, _) => Framing::Head(Head::default()),
        }
    }
}

/// A Content-Length value as hyper reads it: digits, or a list of equal ones.
fn parse_length(value: &[u8]) -> Option<u64> {
    let mut length = None;
    for part in value.split(|&c| c == b',') {
        let part = part.trim_ascii();
        if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let n: u64 = std::str::from_utf8(part).ok()?.parse().ok()?;
        if length.is_some_and(|m| m != n) {
            return None;
        }
        length = Some(n);
    }
    length
}

/// Chunked body states, as hyper's decoder has them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    Size(u64),
    SizeLws(u64),
    Extension(u64),
    SizeLf(u64),
    Data(u64),
    DataCr,
    DataLf,
    EndCr,
    Trailer,
    TrailerLf,
    EndLf,
    End,
}

impl Chunk {
    fn step(self, b: u8) -> Option<Chunk> {
        use Chunk::*;
        Some(match (self, b) {
            (Size(n), b'0'..=b'9' | b'a'..=b'f' | b'A'..=b'F') => {
                let digit = (b as char).to_digit(16)?;
                Size(n.checked_mul(16)?.checked_add(u64::from(digit))?)
            }
            (Size(n) | SizeLws(n), b' ' | b'\t') => SizeLws(n),
            (Size(n) | SizeLws(n), b';') => Extension(n),
            (Size(n) | SizeLws(n) | Extension(n), b'\r') => SizeLf(n),
            (Extension(_), b'\n') => return None,
            (Extension(n), _) => Extension(n),
            (SizeLf(0), b'\n') => EndCr,
            (SizeLf(n), b'\n') => Data(n),
            (DataCr, b'\r') => DataLf,
            (DataLf, b'\n') => Size(0),
            (EndCr, b'\r') => EndLf,
            (Trailer, b'\r') => TrailerLf,
            (EndCr | Trailer, _) => Trailer,
            (TrailerLf, b'\n') => EndCr,
            (EndLf, b'\n') => End,
            _ => return None,
        })
    }
}
