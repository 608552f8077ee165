//! FSSTAT, FSINFO and PATHCONF: what the file system holds and what this
//! server supports.

use dittofs_content::MAX_FILE_SIZE;
use dittofs_meta::{MAX_LINKS, MAX_NAME_LEN};
use dittofs_nfs_wire::nfs3::*;

use super::convert::{fattr, status};
use crate::rpc::{Caller, Programs};

pub(super) async fn fsstat(p: &Programs, c: &Caller, a: FsStat3Args) -> FsStat3Res {
    let r = async {
        let (s, fh) = p.resolve(&a.fsroot)?;
        let st = s.content.fsstat(&c.auth, &fh).await?;
        Ok(FsStat3ResOk {
            obj_attributes: Some(fattr(s.id, &st.attrs)),
            tbytes: st.total_bytes,
            fbytes: st.free_bytes,
            abytes: st.free_bytes,
            tfiles: st.total_files,
            ffiles: st.free_files,
            afiles: st.free_files,
            invarsec: 0,
        })
    };
    match r.await {
        Ok(ok) => NfsResult::Ok(ok),
        Err(e) => NfsResult::Fail(status(&e), p.post_op(c, &a.fsroot).await),
    }
}

pub(super) async fn fsinfo(p: &Programs, c: &Caller, a: FsInfo3Args) -> FsInfo3Res {
    let r = async {
        let (s, fh) = p.resolve(&a.fsroot)?;
        let attrs = s.meta.getattr(&c.auth, &fh).await?;
        let io = p.limits.max_io;
        Ok(FsInfo3ResOk {
            obj_attributes: Some(fattr(s.id, &attrs)),
            rtmax: io,
            rtpref: io,
            rtmult: 4096,
            wtmax: io,
            wtpref: io,
            wtmult: 4096,
            dtpref: 64 * 1024,
            maxfilesize: MAX_FILE_SIZE,
            time_delta: NfsTime3 {
                seconds: 0,
                nseconds: 1,
            },
            properties: FSF3_LINK | FSF3_SYMLINK | FSF3_HOMOGENEOUS | FSF3_CANSETTIME,
        })
    };
    match r.await {
        Ok(ok) => NfsResult::Ok(ok),
        Err(e) => NfsResult::Fail(status(&e), p.post_op(c, &a.fsroot).await),
    }
}

pub(super) async fn pathconf(p: &Programs, c: &Caller, a: PathConf3Args) -> PathConf3Res {
    let r = async {
        let (s, fh) = p.resolve(&a.object)?;
        let attrs = s.meta.getattr(&c.auth, &fh).await?;
        Ok(PathConf3ResOk {
            obj_attributes: Some(fattr(s.id, &attrs)),
            linkmax: MAX_LINKS,
            name_max: MAX_NAME_LEN as u32,
            no_trunc: true,
            chown_restricted: true,
            case_insensitive: false,
            case_preserving: true,
        })
    };
    match r.await {
        Ok(ok) => NfsResult::Ok(ok),
        Err(e) => NfsResult::Fail(status(&e), p.post_op(c, &a.object).await),
    }
}
