//! Shared vocabulary of Switchyard: an injectable clock and random source, URL decoding; no I/O.
//!
//! Everything time- or chance-dependent takes a [`Clock`] or a [`Rng`], so tests and the
//! simulator drive it deterministically with [`ManualClock`] and a seeded [`Rng`].
//!
//! ```
//! use switchyard_core::{Clock, ManualClock};
//! use std::time::Duration;
//! let clock = ManualClock::new();
//! let start = clock.now();
//! clock.advance(Duration::from_secs(90));
//! assert_eq!(clock.now() - start, Duration::from_secs(90));
//! ```

mod clock;
mod rng;
mod text;

pub use clock::{Clock, CoarseClock, ManualClock, SystemClock};
pub use rng::Rng;
pub use text::percent_decode;
