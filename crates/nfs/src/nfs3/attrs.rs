use dittofs_nfs_wire::nfs3::*;

use super::convert::{fattr, set_attrs, status, timestamp, wcc};
use crate::rpc::{Caller, Programs};

pub(super) async fn getattr(p: &Programs, c: &Caller, a: GetAttr3Args) -> GetAttr3Res {
    let r = async {
        let (s, fh) = p.resolve(&a.object)?;
        Ok(fattr(s.id, &s.meta.getattr(&c.auth, &fh).await?))
    };
    match r.await {
        Ok(obj_attributes) => NfsResult::Ok(GetAttr3ResOk { obj_attributes }),
        Err(e) => NfsResult::Fail(status(&e), ()),
    }
}

pub(super) async fn setattr(p: &Programs, c: &Caller, a: SetAttr3Args) -> SetAttr3Res {
    let r = async {
        let (s, fh) = p.resolve(&a.object)?;
        let guard = a.guard.map(timestamp);
        Ok(wcc(
            s.id,
            &s.meta
                .setattr(&c.auth, &fh, set_attrs(&a.new_attributes), guard)
                .await?,
        ))
    };
    match r.await {
        Ok(obj_wcc) => NfsResult::Ok(SetAttr3ResOk { obj_wcc }),
        Err(e) => NfsResult::Fail(status(&e), p.wcc_after(c, &a.object).await),
    }
}

pub(super) async fn access(p: &Programs, c: &Caller, a: Access3Args) -> Access3Res {
    let r = async {
        let (s, fh) = p.resolve(&a.object)?;
        let (granted, inode) = s.meta.access(&c.auth, &fh, a.access).await?;
        Ok(Access3ResOk {
            obj_attributes: Some(fattr(s.id, &inode)),
            access: granted,
        })
    };
    match r.await {
        Ok(ok) => NfsResult::Ok(ok),
        Err(e) => NfsResult::Fail(status(&e), p.post_op(c, &a.object).await),
    }
}

pub(super) async fn readlink(p: &Programs, c: &Caller, a: ReadLink3Args) -> ReadLink3Res {
    let r = async {
        let (s, fh) = p.resolve(&a.symlink)?;
        let (data, inode) = s.meta.readlink(&c.auth, &fh).await?;
        Ok(ReadLink3ResOk {
            symlink_attributes: Some(fattr(s.id, &inode)),
            data,
        })
    };
    match r.await {
        Ok(ok) => NfsResult::Ok(ok),
        Err(e) => NfsResult::Fail(status(&e), p.post_op(c, &a.symlink).await),
    }
}
