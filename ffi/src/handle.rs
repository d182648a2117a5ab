//! Handles: the objects C holds (`framecrypt_sender`, `framecrypt_receiver`).
//!
//! Every object lives in a box of its own and is entered, with its kind,
//! in a table of live handles when it is handed out; `_free` takes it out
//! before dropping it. A call first looks its handle up in the table, under
//! a shared lock held for the whole call, and only then touches the object,
//! under the object's own lock. So:
//!
//! - a pointer that is not a live handle (freed, never handed out, or a
//!   handle of the other kind passed through a cast) is refused with a
//!   clean code and never dereferenced;
//! - two threads calling on one object take turns (the object's lock);
//! - a `_free` waits until calls in progress have left (the table's lock),
//!   and a call after it finds the handle gone. Only a handle whose memory
//!   was given to a new object of the same kind cannot be told apart.

use std::collections::BTreeMap;

use crate::result::framecrypt_result;
use crate::sync::{Mutex, RwLock};

/// The kinds of object C holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Sender,
    Receiver,
}

/// Live handles (their addresses) and their kinds.
static LIVE: RwLock<BTreeMap<usize, Kind>> = RwLock::new(BTreeMap::new());

/// An object C holds a handle to: its state behind its own lock.
pub(crate) trait Object: Sized {
    /// The kind recorded in the table of live handles.
    const KIND: Kind;
    /// What the object's lock guards.
    type State;
    /// The object's lock.
    fn state(&self) -> &Mutex<Self::State>;
}

/// Moves `object` to the heap, records it as live and hands it to C
/// through `out`.
///
/// # Safety
/// `out` must be NULL or valid for a write of a pointer.
pub(crate) unsafe fn hand_out<O: Object>(
    out: *mut *mut O,
    object: O,
) -> Result<(), framecrypt_result> {
    if out.is_null() {
        return Err(framecrypt_result::FRAMECRYPT_ERR_NULL_POINTER);
    }
    let ptr = Box::into_raw(Box::new(object));
    LIVE.write().insert(ptr as usize, O::KIND);
    // SAFETY: non-NULL and, by the caller's contract, valid for a write; it
    // may hold an uninitialised pointer, which `write` does not read.
    unsafe { out.write(ptr) };
    Ok(())
}

/// Runs `f` on the state of the live object `ptr`, holding its lock.
///
/// # Errors
/// `FRAMECRYPT_ERR_NULL_POINTER` for NULL, `FRAMECRYPT_ERR_INVALID_HANDLE`
/// if `ptr` is not a live handle, `FRAMECRYPT_ERR_WRONG_OBJECT` if it is a
/// handle of another kind, `FRAMECRYPT_ERR_INTERNAL` if a panic left the
/// object poisoned; otherwise what `f` returns.
pub(crate) fn with<O: Object, R>(
    ptr: *const O,
    f: impl FnOnce(&mut O::State) -> Result<R, framecrypt_result>,
) -> Result<R, framecrypt_result> {
    if ptr.is_null() {
        return Err(framecrypt_result::FRAMECRYPT_ERR_NULL_POINTER);
    }
    let live = LIVE.read();
    match live.get(&(ptr as usize)) {
        None => return Err(framecrypt_result::FRAMECRYPT_ERR_INVALID_HANDLE),
        Some(&kind) if kind != O::KIND => {
            return Err(framecrypt_result::FRAMECRYPT_ERR_WRONG_OBJECT);
        }
        Some(_) => {}
    }
    // SAFETY: the table lists `ptr` as a live `O`: it came from
    // `Box::into_raw` in `hand_out` and `release` has not dropped it, nor
    // can it while `live` (a read lock on the table) is held.
    let object = unsafe { &*ptr };
    let mut state = object
        .state()
        .lock()
        .map_err(|_| framecrypt_result::FRAMECRYPT_ERR_INTERNAL)?;
    let result = f(&mut state);
    drop(state);
    drop(live);
    result
}

/// Takes `ptr` out of the table and drops its object. NULL, and a pointer
/// that is not a live handle of kind `O` (freed already, or of another
/// kind), are ignored.
pub(crate) fn release<O: Object>(ptr: *mut O) {
    if ptr.is_null() {
        return;
    }
    let mut live = LIVE.write();
    if live.get(&(ptr as usize)) != Some(&O::KIND) {
        return;
    }
    live.remove(&(ptr as usize));
    // SAFETY: the table listed `ptr` as a live `O` from `Box::into_raw` in
    // `hand_out`; it is no longer listed, so no later call reaches it, and
    // no call is in progress on it (they hold the read lock this write
    // lock excludes).
    drop(unsafe { Box::from_raw(ptr) });
    drop(live);
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Thing(Mutex<u32>);

    impl Object for Thing {
        const KIND: Kind = Kind::Sender;
        type State = u32;
        fn state(&self) -> &Mutex<u32> {
            &self.0
        }
    }

    struct Other(Mutex<u32>);

    impl Object for Other {
        const KIND: Kind = Kind::Receiver;
        type State = u32;
        fn state(&self) -> &Mutex<u32> {
            &self.0
        }
    }

    #[test]
    fn only_live_handles_of_the_right_kind_are_entered() {
        let mut ptr = core::ptr::null_mut();
        // SAFETY: a valid out-pointer.
        unsafe { hand_out(&mut ptr, Thing(Mutex::new(7))) }.expect("handed out");
        assert_eq!(with(ptr, |n| Ok(*n)), Ok(7));
        // The same address taken as the other kind.
        assert_eq!(
            with(ptr.cast::<Other>(), |n| Ok(*n)),
            Err(framecrypt_result::FRAMECRYPT_ERR_WRONG_OBJECT)
        );
        release(ptr.cast::<Other>()); // the wrong kind: ignored
        assert_eq!(with(ptr, |n| Ok(*n)), Ok(7));
        release(ptr);
        assert_eq!(
            with(ptr, |n| Ok(*n)),
            Err(framecrypt_result::FRAMECRYPT_ERR_INVALID_HANDLE)
        );
        release(ptr); // twice: ignored
        let local = Thing(Mutex::new(0));
        assert_eq!(
            with(&raw const local, |n| Ok(*n)),
            Err(framecrypt_result::FRAMECRYPT_ERR_INVALID_HANDLE)
        );
        assert_eq!(
            with(core::ptr::null::<Thing>(), |n| Ok(*n)),
            Err(framecrypt_result::FRAMECRYPT_ERR_NULL_POINTER)
        );
    }
}
