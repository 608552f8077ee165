//! NFSv3: round trips of every argument and result, failure arms, decode
//! bounds and rejected discriminants.

use bytes::Bytes;
use dittofs_nfs_wire::nfs3::*;
use dittofs_nfs_wire::{Xdr, XdrError};

use crate::strategies::*;
use crate::{check, decode, encode, round_trips, words};

round_trips! {
    nfs_time_round_trips: nfs_time();
    fattr3_round_trips: fattr3();
    wcc_data_round_trips: wcc_data();
    sattr3_round_trips: sattr3();
    set_time_round_trips: set_time();
    dir_op_args_round_trips: dir_op_args();
    create_how_round_trips: create_how();
    mknod_data_round_trips: mknod_data();
    symlink_data_round_trips: symlink_data();
    entry3_round_trips: entry3();
    entryplus3_round_trips: entryplus3();

    getattr_args_round_trip: getattr_args();
    getattr_res_round_trips: getattr_res();
    setattr_args_round_trip: setattr_args();
    setattr_res_round_trips: setattr_res();
    lookup_args_round_trip: lookup_args();
    lookup_res_round_trips: lookup_res();
    access_args_round_trip: access_args();
    access_res_round_trips: access_res();
    readlink_args_round_trip: readlink_args();
    readlink_res_round_trips: readlink_res();
    read_args_round_trip: read_args();
    read_res_round_trips: read_res();
    write_args_round_trip: write_args();
    write_res_round_trips: write_res();
    create_args_round_trip: create_args();
    create_res_round_trips: create_res();
    mkdir_args_round_trip: mkdir_args();
    mkdir_res_round_trips: mkdir_res();
    symlink_args_round_trip: symlink_args();
    symlink_res_round_trips: symlink_res();
    mknod_args_round_trip: mknod_args();
    mknod_res_round_trips: mknod_res();
    remove_args_round_trip: remove_args();
    remove_res_round_trips: remove_res();
    rmdir_args_round_trip: rmdir_args();
    rmdir_res_round_trips: rmdir_res();
    rename_args_round_trip: rename_args();
    rename_res_round_trips: rename_res();
    link_args_round_trip: link_args();
    link_res_round_trips: link_res();
    readdir_args_round_trip: readdir_args();
    readdir_res_round_trips: readdir_res();
    readdirplus_args_round_trip: readdirplus_args();
    readdirplus_res_round_trips: readdirplus_res();
    fsstat_args_round_trip: fsstat_args();
    fsstat_res_round_trips: fsstat_res();
    fsinfo_args_round_trip: fsinfo_args();
    fsinfo_res_round_trips: fsinfo_res();
    pathconf_args_round_trip: pathconf_args();
    pathconf_res_round_trips: pathconf_res();
    commit_args_round_trip: commit_args();
    commit_res_round_trips: commit_res();
}

fn error_statuses() -> impl Iterator<Item = NfsStat3> {
    NfsStat3::ALL.iter().copied().filter(|s| *s != NfsStat3::Ok)
}

fn sample_attr() -> Fattr3 {
    Fattr3 {
        ftype: Ftype3::Dir,
        mode: 0o755,
        nlink: 2,
        uid: 0,
        gid: 0,
        size: 4096,
        used: 4096,
        rdev: SpecData3::default(),
        fsid: 1,
        fileid: 2,
        atime: NfsTime3::default(),
        mtime: NfsTime3::default(),
        ctime: NfsTime3::default(),
    }
}

fn sample_wcc() -> WccData {
    WccData {
        before: Some(WccAttr::default()),
        after: Some(sample_attr()),
    }
}

#[test]
fn every_fail_arm_round_trips_with_every_error_status() {
    for stat in error_statuses() {
        check(&GetAttr3Res::Fail(stat, ())).unwrap();
        check(&Lookup3Res::Fail(stat, None)).unwrap();
        check(&Lookup3Res::Fail(stat, Some(sample_attr()))).unwrap();
        check(&Access3Res::Fail(stat, Some(sample_attr()))).unwrap();
        check(&ReadLink3Res::Fail(stat, None)).unwrap();
        check(&Read3Res::Fail(stat, Some(sample_attr()))).unwrap();
        check(&SetAttr3Res::Fail(stat, sample_wcc())).unwrap();
        check(&Write3Res::Fail(stat, WccData::default())).unwrap();
        check(&Create3Res::Fail(stat, sample_wcc())).unwrap();
        check(&Mkdir3Res::Fail(stat, sample_wcc())).unwrap();
        check(&Symlink3Res::Fail(stat, sample_wcc())).unwrap();
        check(&Mknod3Res::Fail(stat, sample_wcc())).unwrap();
        check(&Remove3Res::Fail(stat, sample_wcc())).unwrap();
        check(&Rmdir3Res::Fail(stat, sample_wcc())).unwrap();
        let rename = Rename3ResFail {
            fromdir_wcc: sample_wcc(),
            todir_wcc: WccData::default(),
        };
        check(&Rename3Res::Fail(stat, rename)).unwrap();
        let link = Link3ResFail {
            file_attributes: Some(sample_attr()),
            linkdir_wcc: sample_wcc(),
        };
        check(&Link3Res::Fail(stat, link)).unwrap();
        check(&ReadDir3Res::Fail(stat, Some(sample_attr()))).unwrap();
        check(&ReadDirPlus3Res::Fail(stat, None)).unwrap();
        check(&FsStat3Res::Fail(stat, None)).unwrap();
        check(&FsInfo3Res::Fail(stat, Some(sample_attr()))).unwrap();
        check(&PathConf3Res::Fail(stat, None)).unwrap();
        check(&Commit3Res::Fail(stat, sample_wcc())).unwrap();
        assert_eq!(Commit3Res::Fail(stat, sample_wcc()).status(), stat);
    }
}

#[test]
fn getattr_failure_is_the_status_alone() {
    assert_eq!(
        &encode(&GetAttr3Res::Fail(NfsStat3::Stale, ()))[..],
        words(&[70])
    );
}

#[test]
#[cfg(debug_assertions)]
#[should_panic(expected = "error status")]
fn fail_with_ok_status_is_caught_in_debug_builds() {
    encode(&Commit3Res::Fail(NfsStat3::Ok, WccData::default()));
}

#[test]
fn status_codes_match_rfc_values() {
    let expected = [
        0, 1, 2, 5, 6, 13, 17, 18, 19, 20, 21, 22, 27, 28, 30, 31, 63, 66, 69, 70, 71, 10001,
        10002, 10003, 10004, 10005, 10006, 10007, 10008,
    ];
    let got: Vec<u32> = NfsStat3::ALL.iter().map(|s| s.as_u32()).collect();
    assert_eq!(got, expected);
    for v in expected {
        assert_eq!(
            decode::<NfsStat3>(&words(&[v])).map(NfsStat3::as_u32),
            Ok(v)
        );
    }
    for v in [3, 4, 7, 64, 10000, 10009, u32::MAX] {
        assert_eq!(
            decode::<NfsStat3>(&words(&[v])),
            Err(XdrError::BadValue {
                what: "nfsstat3",
                value: v
            })
        );
    }
}

#[test]
fn procedure_numbers() {
    assert_eq!(PROGRAM, 100003);
    assert_eq!(VERSION, 3);
    assert_eq!(Procedure::ALL.len(), 22);
    for (i, p) in Procedure::ALL.iter().enumerate() {
        assert_eq!(p.as_u32(), i as u32);
        assert_eq!(Procedure::from_u32(i as u32), Some(*p));
    }
    assert_eq!(Procedure::from_u32(22), None);
    assert_eq!(Procedure::ReadDirPlus.as_u32(), 17);
    assert_eq!(Procedure::Commit.as_u32(), 21);
}

#[test]
fn unknown_discriminants_are_rejected() {
    let bad = |what: &'static str, value: u32| Some(XdrError::BadValue { what, value });
    assert_eq!(decode::<Ftype3>(&words(&[0])).err(), bad("ftype3", 0));
    assert_eq!(decode::<Ftype3>(&words(&[8])).err(), bad("ftype3", 8));
    assert_eq!(
        decode::<StableHow>(&words(&[3])).err(),
        bad("stable_how", 3)
    );
    assert_eq!(decode::<SetTime>(&words(&[3])).err(), bad("time_how", 3));
    assert_eq!(
        decode::<CreateHow3>(&words(&[3])).err(),
        bad("createmode3", 3)
    );
    assert_eq!(decode::<MknodData3>(&words(&[9])).err(), bad("ftype3", 9));
    // A bool other than 0 or 1 in `set_mode3`.
    assert_eq!(decode::<Sattr3>(&words(&[2])).err(), bad("bool", 2));
    // An unknown status in front of a result body.
    assert_eq!(
        decode::<Lookup3Res>(&words(&[3, 0])).err(),
        bad("nfsstat3", 3)
    );
}

fn opaque(len: usize) -> Vec<u8> {
    let mut out = words(&[len as u32]);
    out.extend(std::iter::repeat_n(b'a', len.div_ceil(4) * 4));
    out
}

#[test]
fn file_handles_are_bounded_to_64_bytes() {
    let ok = decode::<NfsFh3>(&opaque(64)).unwrap();
    assert_eq!(ok.0.len(), 64);
    assert_eq!(
        decode::<NfsFh3>(&opaque(65)),
        Err(XdrError::TooLong { len: 65, max: 64 })
    );
}

#[test]
fn long_names_decode_so_the_server_can_answer_nametoolong() {
    let mut args = opaque(8);
    args.extend(opaque(256));
    assert_eq!(decode::<Lookup3Args>(&args).unwrap().what.name.len(), 256);

    let mut args = opaque(8);
    args.extend(opaque(MAX_NAME_LEN));
    assert_eq!(decode::<Lookup3Args>(&args).unwrap().what.name.len(), 4096);

    let mut args = opaque(8);
    args.extend(opaque(MAX_NAME_LEN + 1));
    assert_eq!(
        decode::<Lookup3Args>(&args),
        Err(XdrError::TooLong {
            len: 4097,
            max: 4096
        })
    );
}

#[test]
fn paths_are_bounded_to_4096_bytes() {
    let mut sattr = words(&[0, 0, 0, 0, 0, 0]);
    sattr.extend(opaque(MAX_PATH_LEN + 1));
    assert_eq!(
        decode::<SymlinkData3>(&sattr),
        Err(XdrError::TooLong {
            len: 4097,
            max: 4096
        })
    );
    let mut res = words(&[0, 0]);
    res.extend(opaque(MAX_PATH_LEN));
    assert!(decode::<ReadLink3Res>(&res).is_ok());
}

#[test]
fn forged_lengths_fail_without_allocating() {
    // A WRITE that claims 4 GiB of data but carries 4 bytes.
    let mut args = opaque(8);
    args.extend(words(&[0, 0, 16, 2, u32::MAX, 0]));
    assert!(matches!(
        decode::<Write3Args>(&args),
        Err(XdrError::TooLong { .. })
    ));
    let mut args = opaque(8);
    args.extend(words(&[0, 0, 16, 2, 1 << 20, 0]));
    assert!(matches!(
        decode::<Write3Args>(&args),
        Err(XdrError::Truncated { .. })
    ));
}

#[test]
fn write_payload_is_a_slice_of_the_received_buffer() {
    let args = Write3Args {
        file: NfsFh3(Bytes::from_static(b"fh")),
        offset: 0,
        count: 3,
        stable: StableHow::FileSync,
        data: Bytes::from_static(b"abc"),
    };
    let buf = encode(&args);
    let mut r = dittofs_nfs_wire::XdrReader::new(buf.clone());
    let back = Write3Args::decode(&mut r).unwrap();
    assert_eq!(back, args);
    let start = buf.as_ptr() as usize;
    let data = back.data.as_ptr() as usize;
    assert!(data >= start && data < start + buf.len());
}

#[test]
fn count_and_data_length_may_disagree_on_decode() {
    let args = Write3Args {
        file: NfsFh3::default(),
        offset: 7,
        count: 100,
        stable: StableHow::Unstable,
        data: Bytes::from_static(b"xy"),
    };
    check(&args).unwrap();
}
