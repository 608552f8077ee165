//! Hand-built proptest strategies for the NFSv3 types.

use std::fmt::Debug;

use bytes::Bytes;
use dittofs_nfs_wire::nfs3::*;
use proptest::collection::vec;
use proptest::option::of;
use proptest::prelude::*;
use proptest::sample::select;

pub fn bytes(max: usize) -> impl Strategy<Value = Bytes> {
    vec(any::<u8>(), 0..=max).prop_map(Bytes::from)
}

/// Small payloads and ones large enough to become their own segment.
pub fn payload() -> impl Strategy<Value = Bytes> {
    prop_oneof![
        bytes(64),
        vec(any::<u8>(), 8192..8300).prop_map(Bytes::from)
    ]
}

/// Names beyond NAME_MAX must still decode.
pub fn name() -> impl Strategy<Value = Bytes> {
    bytes(300)
}

pub fn path() -> impl Strategy<Value = Bytes> {
    bytes(300)
}

pub fn fh() -> impl Strategy<Value = NfsFh3> {
    bytes(NFS3_FHSIZE).prop_map(NfsFh3)
}

pub fn error_status() -> impl Strategy<Value = NfsStat3> {
    let errors: Vec<NfsStat3> = NfsStat3::ALL
        .iter()
        .copied()
        .filter(|s| *s != NfsStat3::Ok)
        .collect();
    select(errors)
}

pub fn result<T: Clone + Debug, F: Clone + Debug>(
    ok: impl Strategy<Value = T>,
    fail: impl Strategy<Value = F>,
) -> impl Strategy<Value = NfsResult<T, F>> {
    prop_oneof![
        ok.prop_map(NfsResult::Ok),
        (error_status(), fail).prop_map(|(s, f)| NfsResult::Fail(s, f)),
    ]
}

prop_compose! {
    pub fn nfs_time()(seconds in any::<u32>(), nseconds in any::<u32>()) -> NfsTime3 {
        NfsTime3 { seconds, nseconds }
    }
}

prop_compose! {
    pub fn spec_data()(specdata1 in any::<u32>(), specdata2 in any::<u32>()) -> SpecData3 {
        SpecData3 { specdata1, specdata2 }
    }
}

prop_compose! {
    pub fn fattr3()(
        ftype in select(Ftype3::ALL),
        (mode, nlink, uid, gid) in any::<(u32, u32, u32, u32)>(),
        (size, used, fsid, fileid) in any::<(u64, u64, u64, u64)>(),
        rdev in spec_data(),
        (atime, mtime, ctime) in (nfs_time(), nfs_time(), nfs_time()),
    ) -> Fattr3 {
        Fattr3 { ftype, mode, nlink, uid, gid, size, used, rdev, fsid, fileid, atime, mtime, ctime }
    }
}

pub fn post_op_attr() -> impl Strategy<Value = PostOpAttr> {
    of(fattr3())
}

prop_compose! {
    pub fn wcc_attr()(size in any::<u64>(), mtime in nfs_time(), ctime in nfs_time()) -> WccAttr {
        WccAttr { size, mtime, ctime }
    }
}

prop_compose! {
    pub fn wcc_data()(before in of(wcc_attr()), after in post_op_attr()) -> WccData {
        WccData { before, after }
    }
}

pub fn set_time() -> impl Strategy<Value = SetTime> {
    prop_oneof![
        Just(SetTime::DontChange),
        Just(SetTime::ServerTime),
        nfs_time().prop_map(SetTime::ClientTime),
    ]
}

prop_compose! {
    pub fn sattr3()(
        mode in of(any::<u32>()),
        uid in of(any::<u32>()),
        gid in of(any::<u32>()),
        size in of(any::<u64>()),
        atime in set_time(),
        mtime in set_time(),
    ) -> Sattr3 {
        Sattr3 { mode, uid, gid, size, atime, mtime }
    }
}

prop_compose! {
    pub fn dir_op_args()(dir in fh(), name in name()) -> DirOpArgs3 {
        DirOpArgs3 { dir, name }
    }
}

pub fn stable_how() -> impl Strategy<Value = StableHow> {
    select(StableHow::ALL)
}

pub fn create_how() -> impl Strategy<Value = CreateHow3> {
    prop_oneof![
        sattr3().prop_map(CreateHow3::Unchecked),
        sattr3().prop_map(CreateHow3::Guarded),
        any::<[u8; 8]>().prop_map(CreateHow3::Exclusive),
    ]
}

prop_compose! {
    pub fn device_data()(dev_attributes in sattr3(), spec in spec_data()) -> DeviceData3 {
        DeviceData3 { dev_attributes, spec }
    }
}

pub fn mknod_data() -> impl Strategy<Value = MknodData3> {
    prop_oneof![
        device_data().prop_map(MknodData3::Chr),
        device_data().prop_map(MknodData3::Blk),
        sattr3().prop_map(MknodData3::Sock),
        sattr3().prop_map(MknodData3::Fifo),
        Just(MknodData3::Reg),
        Just(MknodData3::Dir),
        Just(MknodData3::Lnk),
    ]
}

prop_compose! {
    pub fn symlink_data()(symlink_attributes in sattr3(), symlink_data in path()) -> SymlinkData3 {
        SymlinkData3 { symlink_attributes, symlink_data }
    }
}

pub fn getattr_args() -> impl Strategy<Value = GetAttr3Args> {
    fh().prop_map(|object| GetAttr3Args { object })
}

pub fn getattr_res() -> impl Strategy<Value = GetAttr3Res> {
    result(
        fattr3().prop_map(|obj_attributes| GetAttr3ResOk { obj_attributes }),
        Just(()),
    )
}

prop_compose! {
    pub fn setattr_args()(object in fh(), new_attributes in sattr3(), guard in of(nfs_time()))
        -> SetAttr3Args {
        SetAttr3Args { object, new_attributes, guard }
    }
}

pub fn setattr_res() -> impl Strategy<Value = SetAttr3Res> {
    result(
        wcc_data().prop_map(|obj_wcc| SetAttr3ResOk { obj_wcc }),
        wcc_data(),
    )
}

pub fn lookup_args() -> impl Strategy<Value = Lookup3Args> {
    dir_op_args().prop_map(|what| Lookup3Args { what })
}

prop_compose! {
    pub fn lookup_ok()(object in fh(), obj_attributes in post_op_attr(), dir_attributes in post_op_attr())
        -> Lookup3ResOk {
        Lookup3ResOk { object, obj_attributes, dir_attributes }
    }
}

pub fn lookup_res() -> impl Strategy<Value = Lookup3Res> {
    result(lookup_ok(), post_op_attr())
}

prop_compose! {
    pub fn access_args()(object in fh(), access in any::<u32>()) -> Access3Args {
        Access3Args { object, access }
    }
}

prop_compose! {
    pub fn access_ok()(obj_attributes in post_op_attr(), access in any::<u32>()) -> Access3ResOk {
        Access3ResOk { obj_attributes, access }
    }
}

pub fn access_res() -> impl Strategy<Value = Access3Res> {
    result(access_ok(), post_op_attr())
}

pub fn readlink_args() -> impl Strategy<Value = ReadLink3Args> {
    fh().prop_map(|symlink| ReadLink3Args { symlink })
}

prop_compose! {
    pub fn readlink_ok()(symlink_attributes in post_op_attr(), data in path()) -> ReadLink3ResOk {
        ReadLink3ResOk { symlink_attributes, data }
    }
}

pub fn readlink_res() -> impl Strategy<Value = ReadLink3Res> {
    result(readlink_ok(), post_op_attr())
}

prop_compose! {
    pub fn read_args()(file in fh(), offset in any::<u64>(), count in any::<u32>()) -> Read3Args {
        Read3Args { file, offset, count }
    }
}

prop_compose! {
    pub fn read_ok()(file_attributes in post_op_attr(), count in any::<u32>(), eof in any::<bool>(),
                     data in payload()) -> Read3ResOk {
        Read3ResOk { file_attributes, count, eof, data }
    }
}

pub fn read_res() -> impl Strategy<Value = Read3Res> {
    result(read_ok(), post_op_attr())
}

prop_compose! {
    pub fn write_args()(file in fh(), offset in any::<u64>(), count in any::<u32>(),
                        stable in stable_how(), data in payload()) -> Write3Args {
        Write3Args { file, offset, count, stable, data }
    }
}

prop_compose! {
    pub fn write_ok()(file_wcc in wcc_data(), count in any::<u32>(), committed in stable_how(),
                      verf in any::<[u8; 8]>()) -> Write3ResOk {
        Write3ResOk { file_wcc, count, committed, verf }
    }
}

pub fn write_res() -> impl Strategy<Value = Write3Res> {
    result(write_ok(), wcc_data())
}

prop_compose! {
    pub fn create_args()(where_ in dir_op_args(), how in create_how()) -> Create3Args {
        Create3Args { where_, how }
    }
}

prop_compose! {
    pub fn create_ok()(obj in of(fh()), obj_attributes in post_op_attr(), dir_wcc in wcc_data())
        -> Create3ResOk {
        Create3ResOk { obj, obj_attributes, dir_wcc }
    }
}

pub fn create_res() -> impl Strategy<Value = Create3Res> {
    result(create_ok(), wcc_data())
}

prop_compose! {
    pub fn mkdir_args()(where_ in dir_op_args(), attributes in sattr3()) -> Mkdir3Args {
        Mkdir3Args { where_, attributes }
    }
}

pub fn mkdir_res() -> impl Strategy<Value = Mkdir3Res> {
    result(create_ok(), wcc_data())
}

prop_compose! {
    pub fn symlink_args()(where_ in dir_op_args(), symlink in symlink_data()) -> Symlink3Args {
        Symlink3Args { where_, symlink }
    }
}

pub fn symlink_res() -> impl Strategy<Value = Symlink3Res> {
    result(create_ok(), wcc_data())
}

prop_compose! {
    pub fn mknod_args()(where_ in dir_op_args(), what in mknod_data()) -> Mknod3Args {
        Mknod3Args { where_, what }
    }
}

pub fn mknod_res() -> impl Strategy<Value = Mknod3Res> {
    result(create_ok(), wcc_data())
}

pub fn remove_args() -> impl Strategy<Value = Remove3Args> {
    dir_op_args().prop_map(|object| Remove3Args { object })
}

pub fn remove_res() -> impl Strategy<Value = Remove3Res> {
    result(
        wcc_data().prop_map(|dir_wcc| Remove3ResOk { dir_wcc }),
        wcc_data(),
    )
}

pub fn rmdir_args() -> impl Strategy<Value = Rmdir3Args> {
    dir_op_args().prop_map(|object| Rmdir3Args { object })
}

pub fn rmdir_res() -> impl Strategy<Value = Rmdir3Res> {
    result(
        wcc_data().prop_map(|dir_wcc| Rmdir3ResOk { dir_wcc }),
        wcc_data(),
    )
}

prop_compose! {
    pub fn rename_args()(from in dir_op_args(), to in dir_op_args()) -> Rename3Args {
        Rename3Args { from, to }
    }
}

prop_compose! {
    pub fn rename_body()(fromdir_wcc in wcc_data(), todir_wcc in wcc_data()) -> Rename3ResOk {
        Rename3ResOk { fromdir_wcc, todir_wcc }
    }
}

pub fn rename_res() -> impl Strategy<Value = Rename3Res> {
    result(rename_body(), rename_body())
}

prop_compose! {
    pub fn link_args()(file in fh(), link in dir_op_args()) -> Link3Args {
        Link3Args { file, link }
    }
}

prop_compose! {
    pub fn link_body()(file_attributes in post_op_attr(), linkdir_wcc in wcc_data()) -> Link3ResOk {
        Link3ResOk { file_attributes, linkdir_wcc }
    }
}

pub fn link_res() -> impl Strategy<Value = Link3Res> {
    result(link_body(), link_body())
}

prop_compose! {
    pub fn readdir_args()(dir in fh(), cookie in any::<u64>(), cookieverf in any::<[u8; 8]>(),
                          count in any::<u32>()) -> ReadDir3Args {
        ReadDir3Args { dir, cookie, cookieverf, count }
    }
}

prop_compose! {
    pub fn entry3()(fileid in any::<u64>(), name in name(), cookie in any::<u64>()) -> Entry3 {
        Entry3 { fileid, name, cookie }
    }
}

prop_compose! {
    pub fn readdir_ok()(dir_attributes in post_op_attr(), cookieverf in any::<[u8; 8]>(),
                        entries in vec(entry3(), 0..8), eof in any::<bool>()) -> ReadDir3ResOk {
        ReadDir3ResOk { dir_attributes, cookieverf, entries, eof }
    }
}

pub fn readdir_res() -> impl Strategy<Value = ReadDir3Res> {
    result(readdir_ok(), post_op_attr())
}

prop_compose! {
    pub fn readdirplus_args()(dir in fh(), cookie in any::<u64>(), cookieverf in any::<[u8; 8]>(),
                              dircount in any::<u32>(), maxcount in any::<u32>()) -> ReadDirPlus3Args {
        ReadDirPlus3Args { dir, cookie, cookieverf, dircount, maxcount }
    }
}

prop_compose! {
    pub fn entryplus3()(fileid in any::<u64>(), name in name(), cookie in any::<u64>(),
                        name_attributes in post_op_attr(), name_handle in of(fh())) -> EntryPlus3 {
        EntryPlus3 { fileid, name, cookie, name_attributes, name_handle }
    }
}

prop_compose! {
    pub fn readdirplus_ok()(dir_attributes in post_op_attr(), cookieverf in any::<[u8; 8]>(),
                            entries in vec(entryplus3(), 0..6), eof in any::<bool>())
        -> ReadDirPlus3ResOk {
        ReadDirPlus3ResOk { dir_attributes, cookieverf, entries, eof }
    }
}

pub fn readdirplus_res() -> impl Strategy<Value = ReadDirPlus3Res> {
    result(readdirplus_ok(), post_op_attr())
}

pub fn fsstat_args() -> impl Strategy<Value = FsStat3Args> {
    fh().prop_map(|fsroot| FsStat3Args { fsroot })
}

prop_compose! {
    pub fn fsstat_ok()(obj_attributes in post_op_attr(),
                       (tbytes, fbytes, abytes) in any::<(u64, u64, u64)>(),
                       (tfiles, ffiles, afiles) in any::<(u64, u64, u64)>(),
                       invarsec in any::<u32>()) -> FsStat3ResOk {
        FsStat3ResOk { obj_attributes, tbytes, fbytes, abytes, tfiles, ffiles, afiles, invarsec }
    }
}

pub fn fsstat_res() -> impl Strategy<Value = FsStat3Res> {
    result(fsstat_ok(), post_op_attr())
}

pub fn fsinfo_args() -> impl Strategy<Value = FsInfo3Args> {
    fh().prop_map(|fsroot| FsInfo3Args { fsroot })
}

prop_compose! {
    pub fn fsinfo_ok()(obj_attributes in post_op_attr(),
                       (rtmax, rtpref, rtmult) in any::<(u32, u32, u32)>(),
                       (wtmax, wtpref, wtmult, dtpref) in any::<(u32, u32, u32, u32)>(),
                       maxfilesize in any::<u64>(), time_delta in nfs_time(),
                       properties in any::<u32>()) -> FsInfo3ResOk {
        FsInfo3ResOk {
            obj_attributes, rtmax, rtpref, rtmult, wtmax, wtpref, wtmult, dtpref, maxfilesize,
            time_delta, properties,
        }
    }
}

pub fn fsinfo_res() -> impl Strategy<Value = FsInfo3Res> {
    result(fsinfo_ok(), post_op_attr())
}

pub fn pathconf_args() -> impl Strategy<Value = PathConf3Args> {
    fh().prop_map(|object| PathConf3Args { object })
}

prop_compose! {
    pub fn pathconf_ok()(obj_attributes in post_op_attr(), linkmax in any::<u32>(),
                         name_max in any::<u32>(),
                         (no_trunc, chown_restricted, case_insensitive, case_preserving)
                            in any::<(bool, bool, bool, bool)>()) -> PathConf3ResOk {
        PathConf3ResOk {
            obj_attributes, linkmax, name_max, no_trunc, chown_restricted, case_insensitive,
            case_preserving,
        }
    }
}

pub fn pathconf_res() -> impl Strategy<Value = PathConf3Res> {
    result(pathconf_ok(), post_op_attr())
}

prop_compose! {
    pub fn commit_args()(file in fh(), offset in any::<u64>(), count in any::<u32>()) -> Commit3Args {
        Commit3Args { file, offset, count }
    }
}

prop_compose! {
    pub fn commit_ok()(file_wcc in wcc_data(), verf in any::<[u8; 8]>()) -> Commit3ResOk {
        Commit3ResOk { file_wcc, verf }
    }
}

pub fn commit_res() -> impl Strategy<Value = Commit3Res> {
    result(commit_ok(), wcc_data())
}
