//! MOUNT v3: round trips, layouts and bounds.

use bytes::Bytes;
use dittofs_nfs_wire::XdrError;
use dittofs_nfs_wire::mount::*;
use dittofs_nfs_wire::nfs3::NfsFh3;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

use crate::strategies::bytes;
use crate::{check, decode, encode, round_trips, words};

fn dirpath() -> impl Strategy<Value = DirPath> {
    bytes(MNTPATHLEN).prop_map(DirPath)
}

fn mount_res() -> impl Strategy<Value = MountRes3> {
    let errors: Vec<MountStat3> = MountStat3::ALL[1..].to_vec();
    prop_oneof![
        (bytes(FHSIZE3), vec(any::<u32>(), 0..5)).prop_map(|(fh, auth_flavors)| MountRes3::Ok {
            fhandle: FHandle3(fh),
            auth_flavors,
        }),
        select(errors).prop_map(MountRes3::Err),
    ]
}

prop_compose! {
    fn mount_entry()(hostname in bytes(MNTNAMLEN), directory in bytes(100)) -> MountEntry {
        MountEntry { hostname, directory }
    }
}

prop_compose! {
    fn export_entry()(dir in bytes(100), groups in vec(bytes(MNTNAMLEN), 0..4)) -> ExportEntry {
        ExportEntry { dir, groups }
    }
}

round_trips! {
    dirpath_round_trips: dirpath();
    fhandle_round_trips: bytes(FHSIZE3).prop_map(FHandle3);
    mount_res_round_trips: mount_res();
    mount_stat_round_trips: select(MountStat3::ALL);
    mount_list_round_trips: vec(mount_entry(), 0..5).prop_map(MountList);
    exports_round_trip: vec(export_entry(), 0..5).prop_map(Exports);
}

#[test]
fn numbers_match_the_rfc() {
    assert_eq!((PROGRAM, VERSION), (100005, 3));
    let procs: Vec<u32> = Procedure::ALL.iter().map(|p| p.as_u32()).collect();
    assert_eq!(procs, [0, 1, 2, 3, 4, 5]);
    let stats: Vec<u32> = MountStat3::ALL.iter().map(|s| s.as_u32()).collect();
    assert_eq!(stats, [0, 1, 2, 5, 13, 20, 22, 63, 10004, 10006]);
    assert!(matches!(
        decode::<MountStat3>(&words(&[3])),
        Err(XdrError::BadValue { value: 3, .. })
    ));
}

#[test]
fn every_error_status_round_trips() {
    for stat in &MountStat3::ALL[1..] {
        check(&MountRes3::Err(*stat)).unwrap();
        assert_eq!(&encode(&MountRes3::Err(*stat))[..], words(&[stat.as_u32()]));
    }
}

#[test]
fn mnt_reply_layout() {
    let res = MountRes3::Ok {
        fhandle: FHandle3::from(NfsFh3(Bytes::from_static(&[1, 2, 3, 4, 5]))),
        auth_flavors: vec![1, 6],
    };
    let expected = words(&[0, 5, 0x0102_0304, 0x0500_0000, 2, 1, 6]);
    assert_eq!(&encode(&res)[..], expected);
    assert_eq!(decode::<MountRes3>(&expected), Ok(res));
}

#[test]
fn list_layouts() {
    let mounts = MountList(vec![MountEntry {
        hostname: Bytes::from_static(b"h"),
        directory: Bytes::from_static(b"/d"),
    }]);
    let expected = words(&[1, 1, 0x6800_0000, 2, 0x2f64_0000, 0]);
    assert_eq!(&encode(&mounts)[..], expected);
    assert_eq!(decode::<MountList>(&expected), Ok(mounts));
    assert_eq!(&encode(&MountList::default())[..], words(&[0]));

    let exports = Exports(vec![
        ExportEntry {
            dir: Bytes::from_static(b"/e"),
            groups: vec![Bytes::from_static(b"g")],
        },
        ExportEntry {
            dir: Bytes::from_static(b"/f"),
            groups: vec![],
        },
    ]);
    let expected = words(&[
        1,
        2,
        0x2f65_0000,
        1,
        1,
        0x6700_0000,
        0, // "/e", groups ["g"]
        1,
        2,
        0x2f66_0000,
        0, // "/f", no groups
        0,
    ]);
    assert_eq!(&encode(&exports)[..], expected);
    assert_eq!(decode::<Exports>(&expected), Ok(exports));
}

#[test]
fn bounds() {
    let long = |len: usize| {
        let mut out = words(&[len as u32]);
        out.extend(std::iter::repeat_n(b'/', len.div_ceil(4) * 4));
        out
    };
    assert!(decode::<DirPath>(&long(MNTPATHLEN)).is_ok());
    assert_eq!(
        decode::<DirPath>(&long(MNTPATHLEN + 1)),
        Err(XdrError::TooLong {
            len: 1025,
            max: 1024
        })
    );
    assert_eq!(
        decode::<FHandle3>(&long(FHSIZE3 + 1)),
        Err(XdrError::TooLong { len: 65, max: 64 })
    );
    let mut hostname_too_long = words(&[1]);
    hostname_too_long.extend(long(MNTNAMLEN + 1));
    assert_eq!(
        decode::<MountList>(&hostname_too_long),
        Err(XdrError::TooLong { len: 256, max: 255 })
    );
}
