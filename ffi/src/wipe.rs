//! Wiping what the library leaves behind: the allocator of the C library
//! (feature `capi`, which cargo-c turns on), the system allocator wiping
//! every block before handing it back; and a stack scrub around the calls
//! that handle keys.
//!
//! framecrypt's objects wipe their key fields when dropped, but a value's
//! padding bytes, and copies left in a block by code outside the
//! library's control, are not fields. Wiping every freed block makes "no
//! key survives in memory the library freed" hold for any block, whatever
//! it held (`tests/c/test_freed_keys.c` checks it). The cost is one
//! memset per free; no entry point allocates per frame.

#[cfg(feature = "capi")]
use std::alloc::{GlobalAlloc, Layout, System};

use zeroize::Zeroize;

/// [`System`], with every block wiped before it is freed. Growing a block
/// moves it (the provided `realloc`: allocate, copy, free the old one), so
/// no stale copy is left where the system allocator would have grown it in
/// place.
#[cfg(feature = "capi")]
#[derive(Debug)]
pub struct Wiping;

#[cfg(feature = "capi")]
// SAFETY: every method forwards to `System` with the caller's arguments,
// which meet `System`'s contract as they meet this trait's; `dealloc` only
// writes the block being freed, which the caller owns.
unsafe impl GlobalAlloc for Wiping {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is `GlobalAlloc::alloc`'s.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is `GlobalAlloc::alloc_zeroed`'s.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` is a live block of `layout.size()` bytes from this
        // allocator, owned by the caller until this call frees it.
        let block = unsafe { core::slice::from_raw_parts_mut(ptr, layout.size()) };
        // Volatile writes: the compiler may not drop them as dead stores
        // before the free.
        block.zeroize();
        // SAFETY: the caller's contract is `GlobalAlloc::dealloc`'s.
        unsafe { System.dealloc(ptr, layout) }
    }
}

/// Words of stack [`scrub_stack`] wipes (32 KiB): deeper than any call
/// into the library goes (key derivation with SHA-512 uses a few KiB).
/// Under Miri, which checks memory safety and not what memory holds, a
/// token amount keeps the interpreted tests fast.
const SCRUB_WORDS: usize = if cfg!(miri) { 16 } else { 4096 };

/// Wipes the stack below the caller's frame, where the library's frames
/// were during the caller's last call into it.
///
/// Moving a value in Rust copies it and leaves the old bytes where they
/// were; keys built during a call leave such copies on the stack, and a
/// later value built in the same place carries them into the heap in its
/// padding bytes. The entry points that derive, install, replace or drop
/// keys call this before and after their work, so no key they handled
/// outlives the call on the stack.
#[inline(never)]
pub(crate) fn scrub_stack() {
    let mut area = [0u64; SCRUB_WORDS];
    // Volatile writes over an array that lives exactly where the callee
    // frames were.
    area.zeroize();
    core::hint::black_box(&area);
}

/// Runs `f` between two stack scrubs.
pub(crate) fn scrubbed<R>(f: impl FnOnce() -> R) -> R {
    scrub_stack();
    let r = f();
    scrub_stack();
    r
}
