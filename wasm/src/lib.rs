//! framecrypt in the browser: SFrame (RFC 9605) for WebRTC encoded
//! transforms, compiled to WebAssembly with `wasm-bindgen`.
//!
//! - [`engine`]: every framecrypt call of the crate (senders, receivers,
//!   roster members, codec-aware protection in place, the SFU's view), in
//!   plain Rust, tested natively.
//! - [`boundary`]: every JavaScript value becomes a Rust value there, and
//!   back.
//! - [`bindings`]: the `#[wasm_bindgen]` classes `FrameBuffer`, `Sender`,
//!   `Receiver`, `Identity`, `Member` and functions `codecForMime`, `errorName`,
//!   `inspect`, `heapAllocations`.
//!
//! `www/worker.js` is the `RTCRtpScriptTransform` worker built on them;
//! `README.md` describes the JavaScript API and what a frame costs.

pub mod bindings;
pub mod boundary;
pub mod engine;

pub use bindings::{FrameBuffer, Identity, Member, Receiver, Sender};

// Counts the module's heap allocations so that the browser tests can check
// the frame path allocates nothing (`heapAllocations()`).
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static HEAP: &stats_alloc::StatsAlloc<std::alloc::System> = &stats_alloc::INSTRUMENTED_SYSTEM;

/// Allocations and reallocations of the module's heap so far (0 where the
/// counting allocator is not installed, i.e. outside WebAssembly).
#[must_use]
pub fn heap_allocations() -> f64 {
    #[cfg(target_arch = "wasm32")]
    {
        let stats = HEAP.stats();
        #[allow(clippy::cast_precision_loss)]
        let count = (stats.allocations + stats.reallocations) as f64;
        count
    }
    #[cfg(not(target_arch = "wasm32"))]
    0.0
}
