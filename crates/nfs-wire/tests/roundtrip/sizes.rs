//! The READDIR / READDIRPLUS size helpers agree with the real encodings.

use bytes::Bytes;
use dittofs_nfs_wire::XdrWriter;
use dittofs_nfs_wire::nfs3::*;
use proptest::prelude::*;

use crate::encode;
use crate::strategies::*;

fn list_len<T: dittofs_nfs_wire::Xdr>(entries: &[T]) -> usize {
    // Each entry is its "value follows" flag plus its fields.
    let mut w = XdrWriter::new();
    for e in entries {
        w.bool(true);
        e.encode(&mut w);
    }
    w.len()
}

proptest! {
    #[test]
    fn entry3_size_matches_encoding(e in entry3()) {
        prop_assert_eq!(e.xdr_size(), list_len(std::slice::from_ref(&e)));
        prop_assert_eq!(entry3_xdr_size(e.name.len()), e.xdr_size());
    }

    #[test]
    fn entryplus3_size_matches_encoding(e in entryplus3()) {
        prop_assert_eq!(e.xdr_size(), list_len(std::slice::from_ref(&e)));
        let plain = Entry3 { fileid: e.fileid, name: e.name.clone(), cookie: e.cookie };
        prop_assert_eq!(e.dir_xdr_size(), plain.xdr_size());
        let attrs = post_op_attr_size(e.name_attributes.is_some());
        let handle = post_op_fh3_size(e.name_handle.as_ref().map(|fh| fh.0.len()));
        prop_assert_eq!(e.xdr_size(), e.dir_xdr_size() + attrs + handle);
    }

    #[test]
    fn readdir_size_is_overhead_plus_entries(ok in readdir_ok()) {
        let total = encode(&ReadDir3Res::Ok(ok.clone())).len();
        let entries: usize = ok.entries.iter().map(|e| entry3_xdr_size(e.name.len())).sum();
        let overhead = readdir3_resok_overhead(ok.dir_attributes.is_some());
        prop_assert_eq!(total, STATUS_SIZE + overhead + entries);
        prop_assert_eq!(total, STATUS_SIZE + ok.xdr_size());
    }

    #[test]
    fn readdirplus_size_is_overhead_plus_entries(ok in readdirplus_ok()) {
        let total = encode(&ReadDirPlus3Res::Ok(ok.clone())).len();
        let entries: usize = ok.entries.iter().map(EntryPlus3::xdr_size).sum();
        let overhead = readdirplus3_resok_overhead(ok.dir_attributes.is_some());
        prop_assert_eq!(total, STATUS_SIZE + overhead + entries);
        prop_assert_eq!(total, STATUS_SIZE + ok.xdr_size());
    }
}

#[test]
fn known_sizes() {
    // follows + fileid + (length + "abcde" padded to 8) + cookie
    assert_eq!(entry3_xdr_size(5), 4 + 8 + 4 + 8 + 8);
    assert_eq!(entry3_xdr_size(0), 24);
    assert_eq!(post_op_attr_size(true), 88);
    assert_eq!(post_op_fh3_size(Some(32)), 40);
    assert_eq!(post_op_fh3_size(None), 4);
    assert_eq!(entryplus3_xdr_size(4, true, Some(32)), 28 + 88 + 40);
    assert_eq!(readdir3_resok_overhead(false), 20);
    assert_eq!(readdir3_resok_overhead(true), 104);
    let empty = ReadDir3ResOk {
        dir_attributes: None,
        cookieverf: [0; 8],
        entries: vec![],
        eof: true,
    };
    assert_eq!(encode(&empty).len(), readdir3_resok_overhead(false));
    let one = EntryPlus3 {
        name: Bytes::from_static(b"abc"),
        name_handle: Some(NfsFh3(Bytes::from_static(&[0; 17]))),
        ..EntryPlus3::default()
    };
    assert_eq!(one.xdr_size(), 24 + 4 + 4 + 4 + 4 + 20);
}
