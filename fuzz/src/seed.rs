//! Writing typed fuzz inputs as the bytes `arbitrary` reads them back from,
//! so that the seed corpus can be built from test vectors.
//!
//! libFuzzer mutates bytes; the targets decode them with
//! `Arbitrary::arbitrary_take_rest`. [`Seed`] is the inverse for the types
//! the targets use, following `arbitrary` 1.x: integers little-endian at
//! full width, `bool` as one byte, enum variants as a `u32` scaled onto
//! the variant count, `Option` as a `bool` then the value, and every `Vec`
//! as a "keep going" byte before each element and a zero byte after the
//! last. [`encode`] checks each seed by decoding it again, so a change in
//! `arbitrary`'s format fails the corpus build instead of silently
//! producing seeds that mean something else.

use arbitrary::{Arbitrary, Unstructured};

/// A value that can be written as `arbitrary` input bytes.
pub trait Seed {
    /// Appends the bytes that `arbitrary` decodes into `self`.
    fn seed(&self, out: &mut Vec<u8>);
}

macro_rules! seed_int {
    ($($ty:ty),*) => {$(
        impl Seed for $ty {
            fn seed(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
        }
    )*};
}
seed_int!(u8, u16, u32, u64, i8);

impl Seed for bool {
    fn seed(&self, out: &mut Vec<u8>) {
        out.push(u8::from(*self));
    }
}

impl<T: Seed> Seed for Option<T> {
    fn seed(&self, out: &mut Vec<u8>) {
        self.is_some().seed(out);
        if let Some(value) = self {
            value.seed(out);
        }
    }
}

impl<T: Seed> Seed for Vec<T> {
    fn seed(&self, out: &mut Vec<u8>) {
        for element in self {
            out.push(1);
            element.seed(out);
        }
        out.push(0);
    }
}

/// Writes the discriminant of variant `index` of an enum with `count`
/// variants: the smallest `u32` `x` with `(x * count) >> 32 == index`.
pub fn variant(out: &mut Vec<u8>, index: u32, count: u32) {
    assert!(index < count, "variant {index} of {count}");
    let x = (u64::from(index) << 32).div_ceil(u64::from(count));
    let x = u32::try_from(x).expect("below 2^32 since index < count");
    x.seed(out);
}

/// Implements [`Seed`] for a struct (fields in declaration order) or an
/// enum (variant discriminant, then the variant's fields).
#[macro_export]
macro_rules! seed_struct {
    ($ty:ident { $($field:ident),* $(,)? }) => {
        impl $crate::seed::Seed for $ty {
            fn seed(&self, out: &mut Vec<u8>) {
                let $ty { $($field),* } = self;
                $( $crate::seed::Seed::seed($field, out); )*
            }
        }
    };
}

/// Implements [`Seed`] for an enum whose variants are listed in
/// declaration order, each as `Variant` or `Variant { fields }`.
#[macro_export]
macro_rules! seed_enum {
    ($ty:ident [ $( $variant:ident $({ $($field:ident),* $(,)? })? ),* $(,)? ]) => {
        impl $crate::seed::Seed for $ty {
            fn seed(&self, out: &mut Vec<u8>) {
                let names: &[&str] = &[$(stringify!($variant)),*];
                let count = u32::try_from(names.len()).expect("few variants");
                let mut index = 0u32;
                $(
                    #[allow(unused_variables, irrefutable_let_patterns)]
                    if let $ty::$variant $({ $($field),* })? = self {
                        $crate::seed::variant(out, index, count);
                        $($( $crate::seed::Seed::seed($field, out); )*)?
                        return;
                    }
                    index += 1;
                )*
                unreachable!("{index} variants checked");
            }
        }
    };
}

/// The bytes of `value` as a fuzz input, checked by decoding them again.
///
/// # Panics
/// If the bytes do not decode to `value` (the `arbitrary` format changed).
pub fn encode<T>(value: &T) -> Vec<u8>
where
    T: Seed + for<'a> Arbitrary<'a> + PartialEq + core::fmt::Debug,
{
    let mut out = Vec::new();
    value.seed(&mut out);
    let decoded =
        T::arbitrary_take_rest(Unstructured::new(&out)).expect("a seed decodes without error");
    assert_eq!(&decoded, value, "seed bytes decode to another value");
    out
}
