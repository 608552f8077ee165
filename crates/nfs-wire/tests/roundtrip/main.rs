//! Round trips, byte-exact layouts, bounds and size helpers of the wire
//! types, as one test binary.

mod exact;
mod mount;
mod nfs3;
mod portmap;
mod sizes;
mod strategies;

use std::fmt::Debug;

use bytes::Bytes;
use dittofs_nfs_wire::{Xdr, XdrReader, XdrWriter};
use proptest::test_runner::TestCaseError;

pub fn encode<T: Xdr>(v: &T) -> Bytes {
    let mut w = XdrWriter::new();
    v.encode(&mut w);
    let len = w.len();
    let buf = w.into_bytes();
    assert_eq!(buf.len(), len, "XdrWriter::len disagrees with the output");
    buf
}

pub fn decode<T: Xdr>(buf: &[u8]) -> Result<T, dittofs_nfs_wire::XdrError> {
    let mut r = XdrReader::new(Bytes::copy_from_slice(buf));
    let v = T::decode(&mut r)?;
    r.finish()?;
    Ok(v)
}

/// Words at the start of an encoding that get overwritten with hostile values.
const CORRUPTED_WORDS: usize = 48;

/// Encodes, decodes and compares; then checks that every strict prefix fails
/// to decode and that corrupting any early word never panics.
pub fn check<T: Xdr + PartialEq + Debug>(v: &T) -> Result<(), TestCaseError> {
    let buf = encode(v);
    prop_assert_eq_len(buf.len())?;

    let mut r = XdrReader::new(buf.clone());
    match T::decode(&mut r) {
        Ok(back) => proptest::prop_assert_eq!(&back, v),
        Err(e) => return Err(TestCaseError::fail(format!("decode failed: {e}"))),
    }
    proptest::prop_assert_eq!(r.finish(), Ok(()));

    for n in 0..buf.len() {
        let mut r = XdrReader::new(buf.slice(..n));
        proptest::prop_assert!(T::decode(&mut r).is_err(), "prefix of {} bytes decoded", n);
    }

    for word in 0..(buf.len() / 4).min(CORRUPTED_WORDS) {
        for hostile in [0xffff_ffffu32, 0x7fff_ffff, 2, 3, 65] {
            let mut bad = buf.to_vec();
            bad[word * 4..word * 4 + 4].copy_from_slice(&hostile.to_be_bytes());
            let _ = T::decode(&mut XdrReader::new(Bytes::from(bad)));
        }
    }
    Ok(())
}

fn prop_assert_eq_len(len: usize) -> Result<(), TestCaseError> {
    proptest::prop_assert_eq!(len % 4, 0, "encoded length {} is not a multiple of 4", len);
    Ok(())
}

/// Big-endian bytes of a list of XDR words.
pub fn words(ws: &[u32]) -> Vec<u8> {
    ws.iter().flat_map(|w| w.to_be_bytes()).collect()
}

/// Declares one proptest per (name, strategy) that round-trips the values.
macro_rules! round_trips {
    ($($name:ident: $strategy:expr;)+) => {
        proptest::proptest! {
            $(
                #[test]
                fn $name(v in $strategy) {
                    crate::check(&v)?;
                }
            )+
        }
    };
}
pub(crate) use round_trips;
