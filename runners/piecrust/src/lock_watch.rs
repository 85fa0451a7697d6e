//! Whether a trap raised through SIGSEGV left the process broken
//! (`segv-trap-crash` in `docs/deviations.md`), known exactly rather than
//! guessed from outcomes.
//!
//! piecrust's memory library (crumbles) handles SIGSEGV first: it takes a
//! read lock of its global memory map, serves the fault if it is one of its
//! lazily mapped pages, and otherwise passes the signal on to wasmtime's
//! handler while still holding the lock. For a wasm trap, wasmtime's handler
//! jumps out with `siglongjmp` and never returns, so the lock is never
//! released: the next memory created or dropped (a session's end) deadlocks,
//! and later faults crash the process.
//!
//! The watch puts a pass-through handler in front of crumbles' one. It
//! counts the SIGSEGVs it forwards and those whose handler returned; a
//! difference is a handler that jumped away while holding crumbles' lock.
//! Nothing else changes: the same handler runs with the same arguments, the
//! handlers keep their order (wasmtime's installed with the engine, crumbles'
//! in front at its first memory, as in production), and SIGSEGV stays
//! blocked while it runs, as crumbles asks.

use std::mem::MaybeUninit;
use std::ptr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// SIGSEGVs passed to crumbles' handler.
static ENTERED: AtomicU64 = AtomicU64::new(0);
/// SIGSEGVs whose handler returned.
static RETURNED: AtomicU64 = AtomicU64::new(0);
/// Crumbles' action, which the watch forwards to.
static CRUMBLES: OnceLock<libc::sigaction> = OnceLock::new();

/// Makes crumbles install its handler (as piecrust's first memory would),
/// then puts the watch in front of it. Call once, after the VM (and with it
/// wasmtime's handler) exists; `Err` when the handlers cannot be read or
/// set.
pub fn install() -> Result<(), String> {
    // A memory of crumbles' own installs its handler, once per process.
    drop(crumbles::Mmap::new(1, 1 << 16).map_err(|e| format!("crumbles: {e}"))?);
    // SAFETY: reading and replacing the SIGSEGV action with valid
    // `sigaction` structs; `forward` is valid for the life of the process.
    unsafe {
        let mut current = MaybeUninit::<libc::sigaction>::uninit();
        if libc::sigaction(libc::SIGSEGV, ptr::null(), current.as_mut_ptr()) != 0 {
            return Err("cannot read the SIGSEGV action".into());
        }
        let current = current.assume_init();
        if current.sa_flags & libc::SA_SIGINFO == 0 {
            return Err("the SIGSEGV handler in place is not crumbles'".into());
        }
        if CRUMBLES.set(current).is_err() {
            return Err("the watch is already installed".into());
        }
        let mut watch = current;
        watch.sa_sigaction = forward as *const () as usize;
        if libc::sigaction(libc::SIGSEGV, &watch, ptr::null_mut()) != 0 {
            return Err("cannot set the SIGSEGV action".into());
        }
    }
    Ok(())
}

/// Whether a SIGSEGV handler jumped away since the watch was installed,
/// leaving crumbles' lock held.
pub fn lock_left_held() -> bool {
    ENTERED.load(Ordering::SeqCst) != RETURNED.load(Ordering::SeqCst)
}

/// The watch: counts, forwards to crumbles' handler, counts its return.
/// Only atomics, which are async-signal-safe.
extern "C" fn forward(signal: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    ENTERED.fetch_add(1, Ordering::SeqCst);
    if let Some(crumbles) = CRUMBLES.get() {
        // SAFETY: crumbles installed this action with SA_SIGINFO, so it is
        // a three-argument handler; it gets the arguments the kernel gave.
        unsafe {
            let handler: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                std::mem::transmute(crumbles.sa_sigaction);
            handler(signal, info, context);
        }
    }
    RETURNED.fetch_add(1, Ordering::SeqCst);
}
