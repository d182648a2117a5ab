//! The receiver `decrypt` and `unprotect` build from their `--key` arguments.

use framecrypt::{CipherSuite, Receiver, VecKeyStore};

use crate::args::KidKey;
use crate::error::CliError;

/// A receiver holding every `--key`, all of `suite`. A KID given twice is a
/// usage error.
pub fn with_keys(suite: CipherSuite, keys: &[KidKey]) -> Result<Receiver<VecKeyStore>, CliError> {
    let mut receiver = Receiver::<VecKeyStore>::new();
    for KidKey { kid, key } in keys {
        if receiver.has_key(*kid) {
            return Err(CliError::usage(format!("--key: KID {kid} given twice")));
        }
        receiver
            .add_key(suite, *kid, key.base_key()?)
            .map_err(|e| CliError::failure(format!("installing the key for KID {kid}: {e}")))?;
    }
    Ok(receiver)
}
