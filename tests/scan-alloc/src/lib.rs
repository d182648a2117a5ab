//! A global allocator for tests that prove key material is wiped: every
//! block freed (or moved away from by `realloc`) is scanned, before it goes
//! back to the system allocator, for byte patterns the test has asked to
//! watch, and every hit is recorded.
//!
//! ```ignore
//! #[global_allocator]
//! static GLOBAL: ScanAlloc = ScanAlloc;
//!
//! framecrypt_scan_alloc::watch("AES round key 0", kid, &key[..16]);
//! // ... install, replace and remove keys, then drop the store ...
//! assert_eq!(framecrypt_scan_alloc::findings().1, 0);
//! ```
//!
//! The scanner allocates nothing and takes no lock the program could hold
//! while it allocates: patterns and findings live in fixed static tables
//! guarded by a spin lock that is only ever held by the scanner itself or
//! by [`watch`] / [`findings`] / [`reset`], none of which allocate while
//! holding it.
//!
//! `realloc` is done as allocate, copy, free (so the old block is scanned
//! like any other): slower than the system's, and fine for tests.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// The most patterns that can be watched at once.
pub const MAX_PATTERNS: usize = 1024;
/// The longest pattern.
pub const MAX_PATTERN_LEN: usize = 32;
/// The shortest pattern: shorter ones would match by chance.
pub const MIN_PATTERN_LEN: usize = 8;
/// The most findings recorded (later ones are counted, not kept).
pub const MAX_FINDINGS: usize = 256;

/// A watched pattern found in a freed block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The label given to [`watch`].
    pub label: &'static str,
    /// The number given to [`watch`] (which key).
    pub id: u64,
    /// The size of the freed block.
    pub block_len: usize,
    /// Where in the block the pattern starts.
    pub offset: usize,
}

struct Pattern {
    label: &'static str,
    id: u64,
    bytes: [u8; MAX_PATTERN_LEN],
    len: usize,
}

struct Tables {
    patterns: [Pattern; MAX_PATTERNS],
    pattern_count: usize,
    findings: [Option<Finding>; MAX_FINDINGS],
    finding_count: usize,
}

struct Shared {
    lock: AtomicBool,
    tables: core::cell::UnsafeCell<Tables>,
}

// SAFETY: `tables` is only touched while `lock` is held (see `with`).
unsafe impl Sync for Shared {}

const EMPTY: Pattern = Pattern {
    label: "",
    id: 0,
    bytes: [0; MAX_PATTERN_LEN],
    len: 0,
};

static SHARED: Shared = Shared {
    lock: AtomicBool::new(false),
    tables: core::cell::UnsafeCell::new(Tables {
        patterns: [EMPTY; MAX_PATTERNS],
        pattern_count: 0,
        findings: [None; MAX_FINDINGS],
        finding_count: 0,
    }),
};

static BLOCKS_SCANNED: AtomicUsize = AtomicUsize::new(0);
static BYTES_SCANNED: AtomicUsize = AtomicUsize::new(0);

/// Runs `f` on the tables under the spin lock. `f` must not allocate.
fn with<T>(f: impl FnOnce(&mut Tables) -> T) -> T {
    while SHARED
        .lock
        .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        core::hint::spin_loop();
    }
    // SAFETY: the lock is held, so no other reference to the tables exists.
    let result = f(unsafe { &mut *SHARED.tables.get() });
    SHARED.lock.store(false, Ordering::Release);
    result
}

/// Watches for `bytes` (copied; 8 to 32 bytes) in every block freed from
/// now on, under `label` and `id`.
///
/// # Panics
/// If `bytes` is shorter than [`MIN_PATTERN_LEN`] or longer than
/// [`MAX_PATTERN_LEN`], or [`MAX_PATTERNS`] are already watched.
pub fn watch(label: &'static str, id: u64, bytes: &[u8]) {
    assert!(
        (MIN_PATTERN_LEN..=MAX_PATTERN_LEN).contains(&bytes.len()),
        "pattern length {}",
        bytes.len()
    );
    let added = with(|t| {
        if t.pattern_count == MAX_PATTERNS {
            return false;
        }
        let p = &mut t.patterns[t.pattern_count];
        p.label = label;
        p.id = id;
        p.bytes[..bytes.len()].copy_from_slice(bytes);
        p.len = bytes.len();
        t.pattern_count += 1;
        true
    });
    assert!(added, "more than {MAX_PATTERNS} patterns");
}

/// How many patterns are watched.
#[must_use]
pub fn watched() -> usize {
    with(|t| t.pattern_count)
}

/// The findings so far (at most [`MAX_FINDINGS`]) and how many there were
/// in all.
#[must_use]
pub fn findings() -> (Vec<Finding>, usize) {
    let mut kept = [None; MAX_FINDINGS];
    let count = with(|t| {
        kept = t.findings;
        t.finding_count
    });
    (kept.into_iter().flatten().collect(), count)
}

/// Forgets every pattern and finding.
pub fn reset() {
    with(|t| {
        for p in &mut t.patterns[..t.pattern_count] {
            p.bytes = [0; MAX_PATTERN_LEN];
            p.len = 0;
        }
        t.pattern_count = 0;
        t.findings = [None; MAX_FINDINGS];
        t.finding_count = 0;
    });
}

/// How many freed blocks, and bytes, have been scanned.
#[must_use]
pub fn scanned() -> (usize, usize) {
    (
        BLOCKS_SCANNED.load(Ordering::Relaxed),
        BYTES_SCANNED.load(Ordering::Relaxed),
    )
}

/// Scans `block` as if it were being freed (for memory a test can see
/// but that is not freed, such as a buffer it keeps).
pub fn scan(block: &[u8]) {
    BLOCKS_SCANNED.fetch_add(1, Ordering::Relaxed);
    BYTES_SCANNED.fetch_add(block.len(), Ordering::Relaxed);
    with(|t| {
        for i in 0..t.pattern_count {
            let p = &t.patterns[i];
            let needle = &p.bytes[..p.len];
            if let Some(offset) = block.windows(needle.len()).position(|w| w == needle) {
                if t.finding_count < MAX_FINDINGS {
                    t.findings[t.finding_count] = Some(Finding {
                        label: p.label,
                        id: p.id,
                        block_len: block.len(),
                        offset,
                    });
                }
                t.finding_count += 1;
            }
        }
    });
}

/// Scans the bytes of `value` where it lies (padding included), for
/// memory a test holds rather than frees, such as a key store it keeps
/// using.
pub fn scan_value<T>(value: &T) {
    // SAFETY: `value` is a live reference to `size_of::<T>()` bytes. Its
    // padding may be uninitialised; the scanner only compares bytes, which
    // is what a memory scan has to do.
    let bytes = unsafe {
        core::slice::from_raw_parts((value as *const T).cast::<u8>(), core::mem::size_of::<T>())
    };
    scan(bytes);
}

/// The scanning allocator: the system allocator, with every freed block
/// scanned first.
#[derive(Debug)]
pub struct ScanAlloc;

// SAFETY: every call is forwarded to `System` with the caller's layout;
// `realloc` keeps `GlobalAlloc`'s contract by allocating the new block with
// the old alignment, copying the smaller of the two sizes, and freeing the
// old block only once copied.
unsafe impl GlobalAlloc for ScanAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is `System`'s.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` is a live block of `layout.size()` bytes (the
        // caller's contract), initialised or not: reading possibly
        // uninitialised bytes as `u8` through a raw slice is what a
        // scanner must do, and the values are only compared.
        let block = unsafe { core::slice::from_raw_parts(ptr, layout.size()) };
        scan(block);
        // SAFETY: the caller's contract is `System`'s.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `new_size` with the old alignment is a valid layout (the
        // caller's contract).
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        // SAFETY: as `alloc`.
        let new = unsafe { self.alloc(new_layout) };
        if !new.is_null() {
            // SAFETY: both blocks are live and distinct, and at least the
            // copied length long.
            unsafe { core::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size)) };
            // SAFETY: `ptr` was allocated with `layout` and is not used
            // again.
            unsafe { self.dealloc(ptr, layout) };
        }
        new
    }
}
