#![doc = include_str!("../README.md")]
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod bytes;
pub mod codec;
mod crypto;
mod error;
mod frame;
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing;
#[cfg(feature = "hazmat")]
pub mod hazmat;
mod header;
mod ids;
mod key_schedule;
mod key_store;
mod keys;
mod receiver;
mod replay;
mod roles;
pub mod rtp;
mod secret;
mod sender;
pub mod sfu;
mod suite;
#[cfg(feature = "test-hooks")]
#[doc(hidden)]
pub mod test_hooks;

pub use crypto::INLINE_AAD_CAPACITY;
pub use error::Error;
pub use frame::{FrameKey, Layout, Opened, Sealed, ciphertext_len, max_overhead};
pub use header::{EncodedHeader, Header, ParsedHeader};
pub use ids::{Counter, KeyId};
#[cfg(feature = "alloc")]
pub use key_store::VecKeyStore;
pub use key_store::{FixedKeyStore, KeyStore};
#[cfg(feature = "distribute")]
#[cfg_attr(docsrs, doc(cfg(feature = "distribute")))]
pub use keys::distribute;
pub use keys::mls::{
    EpochManager, MLS_BASE_KEY_LABEL, MlsExporter, MlsKidFields, MlsKidLayout, MlsSender,
    mls_base_key,
};
pub use keys::ratchet::{
    RatchetBits, RatchetShare, RatchetingReceiver, RatchetingSender, ratchet_forward,
};
pub use keys::{DecryptStats, Retention};
pub use receiver::Receiver;
pub use replay::ReplayWindow;
pub use roles::{At, Ciphertext, Open, OpenAt, Seal, SealAt};
pub use secret::{BaseKey, KeyShare};
pub use sender::Sender;
pub use suite::CipherSuite;

/// The role traits, for `use framecrypt::prelude::*;`: the [`Seal`] and
/// [`Open`] doors, and `at(now_ms)` for the key holders that need the time.
pub mod prelude {
    pub use crate::roles::{Open, OpenAt, Seal, SealAt};
}
