//! Secret-holding types never print their key bytes and cannot be cloned.

use crate::common::dup;
use framecrypt::hazmat::{Aead, DerivedKey, SframeSecret, derive_key_and_salt, sframe_secret};
use framecrypt::{BaseKey, CipherSuite, Counter, FixedKeyStore, FrameKey, KeyId, Receiver, Sender};

/// Bytes that are easy to spot in both hex and decimal form.
const BASE_KEY: [u8; 16] = [
    0xde, 0xad, 0xbe, 0xef, 0x13, 0x37, 0xc0, 0xde, 0xfe, 0xed, 0xfa, 0xce, 0x0b, 0xad, 0xf0, 0x0d,
];
const KID: KeyId = KeyId(0x0123);

/// The ways a byte string could show up in `Debug` output: hex (either
/// case), a decimal array (`[222, 173, …]`) or its pretty form, and the same
/// for any 4-byte window (a partial leak).
fn renderings(secret: &[u8]) -> Vec<String> {
    let mut forms = vec![format!("{secret:?}"), format!("{secret:#?}")];
    for window in secret.windows(4) {
        let hex: String = window.iter().map(|b| format!("{b:02x}")).collect();
        forms.push(hex.to_uppercase());
        forms.push(hex);
        let decimal: Vec<String> = window.iter().map(u8::to_string).collect();
        forms.push(decimal.join(", "));
        forms.push(decimal.join(",\n"));
    }
    forms
}

fn assert_hides(what: &str, debug: &str, secrets: &[&[u8]]) {
    for secret in secrets {
        for form in renderings(secret) {
            assert!(
                !debug.contains(&form),
                "{what} Debug output {debug:?} contains {form:?}"
            );
        }
    }
}

/// Every secret derived from `BASE_KEY` for `suite`: the base key, the
/// sframe_secret, the sframe_key and the sframe_salt.
fn secrets(suite: CipherSuite) -> (DerivedKey, Vec<Vec<u8>>) {
    let base_key = BaseKey::new(&BASE_KEY).expect("valid");
    let derived = derive_key_and_salt(suite, KID, &base_key);
    let all = vec![
        BASE_KEY.to_vec(),
        sframe_secret(suite, &base_key).expose_secret().to_vec(),
        derived.key().to_vec(),
        derived.salt().to_vec(),
    ];
    (derived, all)
}

#[test]
fn debug_output_of_secret_holders_contains_no_key_bytes() {
    for suite in CipherSuite::ALL {
        let base_key = BaseKey::new(&BASE_KEY).expect("valid");
        let (derived, secrets) = secrets(suite);
        let secrets: Vec<&[u8]> = secrets.iter().map(Vec::as_slice).collect();

        let frame_key = FrameKey::derive(suite, KID, &base_key);
        let sender = Sender::resume(suite, KID, dup(&base_key), Counter(9));
        let mut receiver = Receiver::<FixedKeyStore<2>>::new();
        receiver.add_key(suite, KID, dup(&base_key)).expect("room");
        let aead = Aead::new(suite, derived.key()).expect("key length");
        let secret = sframe_secret(suite, &base_key);

        for (what, debug, pretty) in [
            ("BaseKey", format!("{base_key:?}"), format!("{base_key:#?}")),
            (
                "FrameKey",
                format!("{frame_key:?}"),
                format!("{frame_key:#?}"),
            ),
            ("Sender", format!("{sender:?}"), format!("{sender:#?}")),
            (
                "Receiver",
                format!("{receiver:?}"),
                format!("{receiver:#?}"),
            ),
            (
                "SframeSecret",
                format!("{secret:?}"),
                format!("{secret:#?}"),
            ),
            (
                "DerivedKey",
                format!("{derived:?}"),
                format!("{derived:#?}"),
            ),
            ("hazmat::Aead", format!("{aead:?}"), format!("{aead:#?}")),
        ] {
            assert_hides(what, &debug, &secrets);
            assert_hides(what, &pretty, &secrets);
        }
    }
}

#[cfg(feature = "alloc")]
#[test]
fn debug_output_of_a_growable_receiver_contains_no_key_bytes() {
    let suite = CipherSuite::Aes256CtrHmacSha512_80;
    let (_derived, secrets) = secrets(suite);
    let secrets: Vec<&[u8]> = secrets.iter().map(Vec::as_slice).collect();
    let mut receiver = Receiver::<framecrypt::VecKeyStore>::new();
    receiver
        .add_key(suite, KID, BaseKey::new(&BASE_KEY).expect("valid"))
        .expect("room");
    assert_hides("Receiver<VecKeyStore>", &format!("{receiver:#?}"), &secrets);
}

#[test]
fn the_leak_check_would_see_a_printed_key() {
    // Guards the test above: the renderings match a plain printout.
    let (_derived, secrets) = secrets(CipherSuite::Aes128GcmSha256_128);
    for secret in &secrets {
        for printed in [
            format!("key: {secret:?}"),
            format!("key: {secret:#?}"),
            format!(
                "key: {}",
                secret
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>()
            ),
        ] {
            let caught = std::panic::catch_unwind(|| assert_hides("probe", &printed, &[secret]));
            assert!(caught.is_err(), "{printed:?} not caught");
        }
    }
}

#[test]
fn debug_output_still_says_what_the_value_is() {
    let base_key = BaseKey::new(&BASE_KEY).expect("valid");
    let suite = CipherSuite::Aes128GcmSha256_128;
    assert_eq!(format!("{base_key:?}"), "BaseKey(<redacted>)");
    let frame_key = format!("{:?}", FrameKey::derive(suite, KID, &base_key));
    assert!(frame_key.contains("redacted") && frame_key.contains("Aes128GcmSha256_128"));
    let (derived, _) = secrets(suite);
    assert_eq!(format!("{derived:?}"), "DerivedKey(<redacted>)");
    let secret = sframe_secret(suite, &base_key);
    assert_eq!(format!("{secret:?}"), "SframeSecret(<redacted>)");
}

#[test]
fn a_zeroized_base_key_exposes_nothing() {
    use zeroize::Zeroize;
    let mut base_key = BaseKey::new(&BASE_KEY).expect("valid");
    base_key.zeroize();
    assert_ne!(base_key.expose_secret(), BASE_KEY);
    assert!(base_key.expose_secret().iter().all(|&b| b == 0));
}

/// Compiles only if `T` is not `Clone`: with a `Clone` impl both blanket
/// impls apply and the call is ambiguous.
macro_rules! assert_not_clone {
    ($($t:ty),* $(,)?) => {{
        trait AmbiguousIfClone<A> {
            fn check() {}
        }
        impl<T: ?Sized> AmbiguousIfClone<()> for T {}
        struct IsClone;
        impl<T: ?Sized + Clone> AmbiguousIfClone<IsClone> for T {}
        $( <$t as AmbiguousIfClone<_>>::check(); )*
    }};
}

#[test]
fn secret_holders_are_not_clone() {
    assert_not_clone!(
        BaseKey,
        FrameKey,
        Sender,
        Receiver<FixedKeyStore<1>>,
        DerivedKey,
        SframeSecret,
        Aead,
    );
    #[cfg(feature = "alloc")]
    assert_not_clone!(Receiver<framecrypt::VecKeyStore>);
}

#[test]
fn the_exposed_sframe_secret_is_zeroized_on_drop() {
    fn zeroized_on_drop<T: zeroize::ZeroizeOnDrop>() {}
    zeroized_on_drop::<SframeSecret>();
    zeroized_on_drop::<BaseKey>();
}
