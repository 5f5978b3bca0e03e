//! The process's allocator, mimalloc, and its one tuning: freed memory is given back to the OS
//! after 10 s unused rather than mimalloc's 1 s.
//!
//! With 1 s, the federation benchmark's gateway kept giving pages back and faulting them in
//! again (about 600 page faults a second at 32 connections, none with 10 s) and spent 10-18 %
//! more CPU per request (docs/benchmarks.md). 10 s is jemalloc's default decay. An operator's
//! `MIMALLOC_PURGE_DELAY` (milliseconds, -1 never) wins.

use libmimalloc_sys::{mi_option_set, mi_option_t};

/// mimalloc: glibc's malloc and free were 9 % of the proxy's CPU under load (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc v3's `mimalloc.h` (the bindings lack the constant).
const PURGE_DELAY: mi_option_t = 15;

/// How long freed memory stays with the process before it goes back to the OS.
const PURGE_DELAY_MS: i32 = 10_000;

/// Applies the tuning unless the environment sets the option.
pub fn tune() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        set_purge_delay_ms(PURGE_DELAY_MS);
    }
}

/// mimalloc's purge delay in milliseconds.
#[cfg(test)]
fn purge_delay_ms() -> std::ffi::c_long {
    // SAFETY: mi_option_get reads one option by id; 15 is a valid id (see PURGE_DELAY).
    #[allow(unsafe_code)]
    unsafe {
        libmimalloc_sys::mi_option_get(PURGE_DELAY)
    }
}

fn set_purge_delay_ms(ms: i32) {
    // SAFETY: mi_option_set stores one option by id, at any time and from any thread (mimalloc's
    // options are atomics); 15 is a valid id (see PURGE_DELAY).
    #[allow(unsafe_code)]
    unsafe {
        mi_option_set(PURGE_DELAY, ms.into())
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_option_is_mimallocs_purge_delay_and_tuning_raises_it() {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
            return;
        }
        // v3's default purge delay: proves the id is that option before it is changed.
        assert_eq!(purge_delay_ms(), 1_000);
        tune();
        assert_eq!(purge_delay_ms(), 10_000);
    }
}
