//! The two locks of the C API: one per object ([`Mutex`]) and one over the
//! table of live handles ([`RwLock`]).
//!
//! On Unix they are POSIX locks (`pthread_mutex_t`, `pthread_rwlock_t`),
//! as a C++ library's `std::mutex` would be: race detectors that know only
//! the POSIX primitives (valgrind's helgrind and DRD) then see every
//! happens-before edge the C API relies on, so the threaded C tests can run
//! under them. Elsewhere they are the standard library's locks.
//!
//! A panic while a [`Mutex`] is held marks it poisoned: the object's state
//! may be half-updated, and every later [`Mutex::lock`] refuses.

use core::cell::{Cell, UnsafeCell};
use core::ops::{Deref, DerefMut};

/// The lock was poisoned by a panic while it was held.
#[derive(Debug)]
pub(crate) struct Poisoned;

/// A mutual-exclusion lock around a `T`.
pub(crate) struct Mutex<T> {
    raw: imp::RawMutex,
    /// Set when a holder panicked; read and written only under the lock.
    poisoned: Cell<bool>,
    data: UnsafeCell<T>,
}

// SAFETY: the lock gives one thread at a time access to `data` and
// `poisoned`, so sharing a `Mutex<T>` is sound whenever `T` may be sent to
// another thread (as for `std::sync::Mutex`).
unsafe impl<T: Send> Sync for Mutex<T> {}
// SAFETY: moving the mutex moves the `T` it owns; the raw lock is
// thread-independent (never held across a move: a guard borrows the mutex).
unsafe impl<T: Send> Send for Mutex<T> {}

impl<T> Mutex<T> {
    pub(crate) fn new(value: T) -> Self {
        Self {
            raw: imp::RawMutex::new(),
            poisoned: Cell::new(false),
            data: UnsafeCell::new(value),
        }
    }

    /// Waits for the lock, then gives access to the value.
    ///
    /// # Errors
    /// [`Poisoned`] if a thread panicked while holding it.
    pub(crate) fn lock(&self) -> Result<MutexGuard<'_, T>, Poisoned> {
        self.raw.lock();
        let guard = MutexGuard { mutex: self };
        if self.poisoned.get() {
            return Err(Poisoned);
        }
        Ok(guard)
    }
}

impl<T: core::fmt::Debug> core::fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Mutex").finish_non_exhaustive()
    }
}

/// Access to a [`Mutex`]'s value; unlocks when dropped.
pub(crate) struct MutexGuard<'a, T> {
    mutex: &'a Mutex<T>,
}

impl<T> Deref for MutexGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: the guard holds the lock, so no other reference to the
        // value exists.
        unsafe { &*self.mutex.data.get() }
    }
}

impl<T> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the lock and is borrowed mutably, so this
        // is the only reference to the value.
        unsafe { &mut *self.mutex.data.get() }
    }
}

impl<T> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.mutex.poisoned.set(true);
        }
        self.mutex.raw.unlock();
    }
}

/// A readers-writer lock around a `T`, usable in a `static`.
pub(crate) struct RwLock<T> {
    raw: imp::RawRwLock,
    data: UnsafeCell<T>,
}

// SAFETY: readers share `&T` (so `T: Sync`), a writer gets `&mut T` on any
// thread (so `T: Send`), as for `std::sync::RwLock`.
unsafe impl<T: Send + Sync> Sync for RwLock<T> {}

impl<T> RwLock<T> {
    pub(crate) const fn new(value: T) -> Self {
        Self {
            raw: imp::RawRwLock::new(),
            data: UnsafeCell::new(value),
        }
    }

    /// Shared access; waits while a writer holds the lock.
    pub(crate) fn read(&self) -> ReadGuard<'_, T> {
        self.raw.read();
        ReadGuard { lock: self }
    }

    /// Exclusive access; waits for every reader and writer to leave.
    pub(crate) fn write(&self) -> WriteGuard<'_, T> {
        self.raw.write();
        WriteGuard { lock: self }
    }
}

/// Shared access to an [`RwLock`]'s value.
pub(crate) struct ReadGuard<'a, T> {
    lock: &'a RwLock<T>,
}

impl<T> Deref for ReadGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: a read lock is held: writers are excluded.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T> Drop for ReadGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.raw.unlock();
    }
}

/// Exclusive access to an [`RwLock`]'s value.
pub(crate) struct WriteGuard<'a, T> {
    lock: &'a RwLock<T>,
}

impl<T> Deref for WriteGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: the write lock is held: nobody else has access.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T> DerefMut for WriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the write lock is held and the guard borrowed mutably.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T> Drop for WriteGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.raw.unlock();
    }
}

#[cfg(unix)]
mod imp {
    use core::cell::UnsafeCell;

    /// A `pthread_mutex_t` in a box of its own: POSIX forbids using a copy
    /// of a mutex, and the box never moves.
    pub(super) struct RawMutex(Box<UnsafeCell<libc::pthread_mutex_t>>);

    impl RawMutex {
        pub(super) fn new() -> Self {
            Self(Box::new(UnsafeCell::new(libc::PTHREAD_MUTEX_INITIALIZER)))
        }

        pub(super) fn lock(&self) {
            // SAFETY: an initialised mutex that lives as long as `self`.
            let r = unsafe { libc::pthread_mutex_lock(self.0.get()) };
            // Only EINVAL (not initialised) or EDEADLK (error-checking
            // mutexes) are possible, neither for a default mutex.
            assert_eq!(r, 0, "pthread_mutex_lock");
        }

        pub(super) fn unlock(&self) {
            // SAFETY: called once per successful `lock`, by its holder.
            let r = unsafe { libc::pthread_mutex_unlock(self.0.get()) };
            debug_assert_eq!(r, 0, "pthread_mutex_unlock");
        }
    }

    impl Drop for RawMutex {
        fn drop(&mut self) {
            // SAFETY: `&mut self`: nobody holds or waits for the mutex.
            unsafe { libc::pthread_mutex_destroy(self.0.get()) };
        }
    }

    /// A `pthread_rwlock_t`; only used in a `static`, which never moves.
    pub(super) struct RawRwLock(UnsafeCell<libc::pthread_rwlock_t>);

    impl RawRwLock {
        pub(super) const fn new() -> Self {
            Self(UnsafeCell::new(libc::PTHREAD_RWLOCK_INITIALIZER))
        }

        pub(super) fn read(&self) {
            // SAFETY: an initialised lock in a static. The C API never takes
            // it twice on one thread.
            let r = unsafe { libc::pthread_rwlock_rdlock(self.0.get()) };
            // EAGAIN (too many readers) cannot be handled here either.
            assert_eq!(r, 0, "pthread_rwlock_rdlock");
        }

        pub(super) fn write(&self) {
            // SAFETY: as for `read`.
            let r = unsafe { libc::pthread_rwlock_wrlock(self.0.get()) };
            assert_eq!(r, 0, "pthread_rwlock_wrlock");
        }

        pub(super) fn unlock(&self) {
            // SAFETY: called once per successful `read` or `write`.
            let r = unsafe { libc::pthread_rwlock_unlock(self.0.get()) };
            debug_assert_eq!(r, 0, "pthread_rwlock_unlock");
        }
    }
}

#[cfg(not(unix))]
mod imp {
    //! The standard library's raw locks are not public; a `bool` under a
    //! `std::sync::Mutex` with a condition variable is enough here.
    use std::sync::{Condvar, Mutex, PoisonError};

    pub(super) struct RawMutex {
        held: Mutex<bool>,
        freed: Condvar,
    }

    impl RawMutex {
        pub(super) fn new() -> Self {
            Self {
                held: Mutex::new(false),
                freed: Condvar::new(),
            }
        }

        pub(super) fn lock(&self) {
            let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
            while *held {
                held = self
                    .freed
                    .wait(held)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            *held = true;
        }

        pub(super) fn unlock(&self) {
            *self.held.lock().unwrap_or_else(PoisonError::into_inner) = false;
            self.freed.notify_one();
        }
    }

    /// Readers counted under a mutex; -1 while a writer holds it.
    pub(super) struct RawRwLock {
        state: Mutex<isize>,
        changed: Condvar,
    }

    impl RawRwLock {
        pub(super) const fn new() -> Self {
            Self {
                state: Mutex::new(0),
                changed: Condvar::new(),
            }
        }

        pub(super) fn read(&self) {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            while *state < 0 {
                state = self
                    .changed
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            *state += 1;
        }

        pub(super) fn write(&self) {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            while *state != 0 {
                state = self
                    .changed
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            *state = -1;
        }

        pub(super) fn unlock(&self) {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            *state = if *state < 0 { 0 } else { *state - 1 };
            drop(state);
            self.changed.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_under_the_lock_poisons_it() {
        let mutex = Mutex::new(1);
        let caught = std::panic::catch_unwind(core::panic::AssertUnwindSafe(|| {
            let mut guard = mutex.lock().expect("not poisoned yet");
            *guard = 2;
            panic!("half-way");
        }));
        assert!(caught.is_err());
        assert!(mutex.lock().is_err(), "a poisoned lock still handed out");
    }

    #[test]
    fn threads_take_turns() {
        let mutex = Mutex::new(0u32);
        let lock = RwLock::new(());
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..200 {
                        let _shared = lock.read();
                        *mutex.lock().expect("not poisoned") += 1;
                    }
                });
            }
        });
        drop(lock.write());
        assert_eq!(*mutex.lock().expect("not poisoned"), 800);
    }
}
