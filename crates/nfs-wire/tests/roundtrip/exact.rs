//! Byte-exact NFSv3 encodings written out by hand from the RFC 1813 layout.

use bytes::Bytes;
use dittofs_nfs_wire::nfs3::*;

use crate::{decode, encode, words};

/// Checks both directions against the expected bytes.
fn assert_wire<T: dittofs_nfs_wire::Xdr + PartialEq + std::fmt::Debug>(v: &T, expected: &[u8]) {
    assert_eq!(&encode(v)[..], expected);
    assert_eq!(decode::<T>(expected).as_ref(), Ok(v));
}

fn attr() -> Fattr3 {
    Fattr3 {
        ftype: Ftype3::Reg,
        mode: 0o644,
        nlink: 1,
        uid: 1000,
        gid: 100,
        size: 0x1_0000_0002,
        used: 4096,
        rdev: SpecData3 {
            specdata1: 3,
            specdata2: 4,
        },
        fsid: 5,
        fileid: 0x0102_0304_0506_0708,
        atime: NfsTime3 {
            seconds: 10,
            nseconds: 11,
        },
        mtime: NfsTime3 {
            seconds: 12,
            nseconds: 13,
        },
        ctime: NfsTime3 {
            seconds: 14,
            nseconds: 15,
        },
    }
}

const ATTR_WORDS: [u32; 21] = [
    1,
    0o644,
    1,
    1000,
    100, // type, mode, nlink, uid, gid
    1,
    2,
    0,
    4096, // size, used
    3,
    4, // rdev
    0,
    5,
    0x0102_0304,
    0x0506_0708, // fsid, fileid
    10,
    11,
    12,
    13,
    14,
    15, // atime, mtime, ctime
];

#[test]
fn fattr3_layout() {
    assert_eq!(FATTR3_SIZE, 84);
    assert_wire(&attr(), &words(&ATTR_WORDS));
}

#[test]
fn getattr_ok_layout() {
    let mut expected = words(&[0]);
    expected.extend(words(&ATTR_WORDS));
    assert_wire(
        &GetAttr3Res::Ok(GetAttr3ResOk {
            obj_attributes: attr(),
        }),
        &expected,
    );
}

#[test]
fn lookup_args_layout() {
    let args = Lookup3Args {
        what: DirOpArgs3 {
            dir: NfsFh3(Bytes::from_static(&[0xde, 0xad, 0xbe, 0xef, 0x01])),
            name: Bytes::from_static(b"file.txt"),
        },
    };
    let mut expected = words(&[5, 0xdead_beef, 0x0100_0000, 8]);
    expected.extend(b"file.txt");
    assert_wire(&args, &expected);
}

#[test]
fn lookup_failure_layout() {
    assert_wire(&Lookup3Res::Fail(NfsStat3::NoEnt, None), &words(&[2, 0]));
    let mut expected = words(&[2, 1]);
    expected.extend(words(&ATTR_WORDS));
    assert_wire(&Lookup3Res::Fail(NfsStat3::NoEnt, Some(attr())), &expected);
}

#[test]
fn empty_readdir_layout() {
    let res = ReadDir3Res::Ok(ReadDir3ResOk {
        dir_attributes: None,
        cookieverf: [1, 2, 3, 4, 5, 6, 7, 8],
        entries: Vec::new(),
        eof: true,
    });
    // status, no attributes, verifier, no first entry, eof.
    assert_wire(&res, &words(&[0, 0, 0x0102_0304, 0x0506_0708, 0, 1]));
}

#[test]
fn readdir_with_two_entries_layout() {
    let res = ReadDir3Res::Ok(ReadDir3ResOk {
        dir_attributes: None,
        cookieverf: [0; 8],
        entries: vec![
            Entry3 {
                fileid: 7,
                name: Bytes::from_static(b"a"),
                cookie: 1,
            },
            Entry3 {
                fileid: 8,
                name: Bytes::from_static(b"abcd"),
                cookie: 2,
            },
        ],
        eof: false,
    });
    let expected = words(&[
        0,
        0,
        0,
        0, // status, attributes, verifier
        1,
        0,
        7,
        1,
        0x6100_0000,
        0,
        1, // follows, fileid, "a", cookie
        1,
        0,
        8,
        4,
        0x6162_6364,
        0,
        2, // follows, fileid, "abcd", cookie
        0,
        0, // end of list, eof
    ]);
    assert_wire(&res, &expected);
}

#[test]
fn setattr_args_layout() {
    let args = SetAttr3Args {
        object: NfsFh3(Bytes::from_static(b"ab")),
        new_attributes: Sattr3 {
            mode: Some(0o600),
            size: Some(0),
            mtime: SetTime::ServerTime,
            atime: SetTime::ClientTime(NfsTime3 {
                seconds: 9,
                nseconds: 10,
            }),
            ..Sattr3::default()
        },
        guard: Some(NfsTime3 {
            seconds: 1,
            nseconds: 2,
        }),
    };
    let expected = words(&[
        2,
        0x6162_0000, // handle
        1,
        0o600,
        0,
        0,
        1,
        0,
        0, // mode, uid, gid, size
        2,
        9,
        10,
        1, // atime, mtime
        1,
        1,
        2, // guard
    ]);
    assert_wire(&args, &expected);
}

#[test]
fn write_args_layout() {
    let args = Write3Args {
        file: NfsFh3(Bytes::from_static(b"ab")),
        offset: 1 << 32,
        count: 3,
        stable: StableHow::FileSync,
        data: Bytes::from_static(b"xyz"),
    };
    let expected = words(&[2, 0x6162_0000, 1, 0, 3, 2, 3, 0x7879_7a00]);
    assert_wire(&args, &expected);
}

#[test]
fn exclusive_create_layout() {
    let args = Create3Args {
        where_: DirOpArgs3 {
            dir: NfsFh3(Bytes::from_static(b"d")),
            name: Bytes::from_static(b"n"),
        },
        how: CreateHow3::Exclusive([9, 9, 9, 9, 8, 8, 8, 8]),
    };
    let expected = words(&[1, 0x6400_0000, 1, 0x6e00_0000, 2, 0x0909_0909, 0x0808_0808]);
    assert_wire(&args, &expected);
}

#[test]
fn mknod_layouts() {
    let dir = DirOpArgs3 {
        dir: NfsFh3::default(),
        name: Bytes::from_static(b"n"),
    };
    let chr = Mknod3Args {
        where_: dir.clone(),
        what: MknodData3::Chr(DeviceData3 {
            dev_attributes: Sattr3::default(),
            spec: SpecData3 {
                specdata1: 1,
                specdata2: 3,
            },
        }),
    };
    let expected = words(&[0, 1, 0x6e00_0000, 4, 0, 0, 0, 0, 0, 0, 1, 3]);
    assert_wire(&chr, &expected);
    let fifo = Mknod3Args {
        where_: dir.clone(),
        what: MknodData3::Fifo(Sattr3::default()),
    };
    assert_wire(&fifo, &words(&[0, 1, 0x6e00_0000, 7, 0, 0, 0, 0, 0, 0]));
    let reg = Mknod3Args {
        where_: dir,
        what: MknodData3::Reg,
    };
    assert_wire(&reg, &words(&[0, 1, 0x6e00_0000, 1]));
}

#[test]
fn write_ok_layout() {
    let res = Write3Res::Ok(Write3ResOk {
        file_wcc: WccData {
            before: Some(WccAttr {
                size: 5,
                mtime: NfsTime3 {
                    seconds: 6,
                    nseconds: 7,
                },
                ctime: NfsTime3 {
                    seconds: 8,
                    nseconds: 9,
                },
            }),
            after: None,
        },
        count: 3,
        committed: StableHow::DataSync,
        verf: [0xaa; 8],
    });
    let expected = words(&[0, 1, 0, 5, 6, 7, 8, 9, 0, 3, 1, 0xaaaa_aaaa, 0xaaaa_aaaa]);
    assert_wire(&res, &expected);
}
