use bytes::Bytes;
use dittofs_meta::{CreateMode, Created, FsError, SpecialFile};
use dittofs_nfs_wire::nfs3::*;

use super::convert::{fattr, set_attrs, status, wcc};
use crate::rpc::{Caller, Programs};

fn created(fsid: u64, c: Created) -> Create3ResOk {
    Create3ResOk {
        obj: Some(NfsFh3(Bytes::copy_from_slice(&c.handle))),
        obj_attributes: Some(fattr(fsid, &c.attrs)),
        dir_wcc: wcc(fsid, &c.dir),
    }
}

async fn creation(
    p: &Programs,
    c: &Caller,
    dir: &NfsFh3,
    r: Result<(u64, Created), FsError>,
) -> Create3Res {
    match r {
        Ok((fsid, made)) => NfsResult::Ok(created(fsid, made)),
        Err(e) => NfsResult::Fail(status(&e), p.wcc_after(c, dir).await),
    }
}

pub(super) async fn lookup(p: &Programs, c: &Caller, a: Lookup3Args) -> Lookup3Res {
    let r = async {
        let (s, fh) = p.resolve(&a.what.dir)?;
        let (handle, child, dir) = s.meta.lookup(&c.auth, &fh, &a.what.name).await?;
        Ok(Lookup3ResOk {
            object: NfsFh3(Bytes::copy_from_slice(&handle)),
            obj_attributes: Some(fattr(s.id, &child)),
            dir_attributes: Some(fattr(s.id, &dir)),
        })
    };
    match r.await {
        Ok(ok) => NfsResult::Ok(ok),
        Err(e) => NfsResult::Fail(status(&e), p.post_op(c, &a.what.dir).await),
    }
}

pub(super) async fn create(p: &Programs, c: &Caller, a: Create3Args) -> Create3Res {
    let how = match a.how {
        CreateHow3::Unchecked(s) => CreateMode::Unchecked(set_attrs(&s)),
        CreateHow3::Guarded(s) => CreateMode::Guarded(set_attrs(&s)),
        CreateHow3::Exclusive(v) => CreateMode::Exclusive(v),
    };
    let r = async {
        let (s, fh) = p.resolve(&a.where_.dir)?;
        Ok((
            s.id,
            s.meta.create(&c.auth, &fh, &a.where_.name, how).await?,
        ))
    };
    creation(p, c, &a.where_.dir, r.await).await
}

pub(super) async fn mkdir(p: &Programs, c: &Caller, a: Mkdir3Args) -> Mkdir3Res {
    let r = async {
        let (s, fh) = p.resolve(&a.where_.dir)?;
        Ok((
            s.id,
            s.meta
                .mkdir(&c.auth, &fh, &a.where_.name, set_attrs(&a.attributes))
                .await?,
        ))
    };
    creation(p, c, &a.where_.dir, r.await).await
}

pub(super) async fn symlink(p: &Programs, c: &Caller, a: Symlink3Args) -> Symlink3Res {
    let r = async {
        let (s, fh) = p.resolve(&a.where_.dir)?;
        let attrs = set_attrs(&a.symlink.symlink_attributes);
        Ok((
            s.id,
            s.meta
                .symlink(&c.auth, &fh, &a.where_.name, &a.symlink.symlink_data, attrs)
                .await?,
        ))
    };
    creation(p, c, &a.where_.dir, r.await).await
}

pub(super) async fn mknod(p: &Programs, c: &Caller, a: Mknod3Args) -> Mknod3Res {
    let (special, attrs) = match &a.what {
        MknodData3::Chr(d) => (
            SpecialFile::CharDevice {
                major: d.spec.specdata1,
                minor: d.spec.specdata2,
            },
            d.dev_attributes,
        ),
        MknodData3::Blk(d) => (
            SpecialFile::BlockDevice {
                major: d.spec.specdata1,
                minor: d.spec.specdata2,
            },
            d.dev_attributes,
        ),
        MknodData3::Sock(s) => (SpecialFile::Socket, *s),
        MknodData3::Fifo(s) => (SpecialFile::Fifo, *s),
        MknodData3::Reg | MknodData3::Dir | MknodData3::Lnk => {
            return NfsResult::Fail(NfsStat3::BadType, p.wcc_after(c, &a.where_.dir).await);
        }
    };
    let r = async {
        let (s, fh) = p.resolve(&a.where_.dir)?;
        Ok((
            s.id,
            s.meta
                .mknod(&c.auth, &fh, &a.where_.name, special, set_attrs(&attrs))
                .await?,
        ))
    };
    creation(p, c, &a.where_.dir, r.await).await
}

pub(super) async fn remove(p: &Programs, c: &Caller, a: Remove3Args) -> Remove3Res {
    let r = async {
        let (s, fh) = p.resolve(&a.object.dir)?;
        Ok(wcc(
            s.id,
            &s.meta.remove(&c.auth, &fh, &a.object.name).await?,
        ))
    };
    match r.await {
        Ok(dir_wcc) => NfsResult::Ok(Remove3ResOk { dir_wcc }),
        Err(e) => NfsResult::Fail(status(&e), p.wcc_after(c, &a.object.dir).await),
    }
}

pub(super) async fn rmdir(p: &Programs, c: &Caller, a: Rmdir3Args) -> Rmdir3Res {
    let r = async {
        let (s, fh) = p.resolve(&a.object.dir)?;
        Ok(wcc(
            s.id,
            &s.meta.rmdir(&c.auth, &fh, &a.object.name).await?,
        ))
    };
    match r.await {
        Ok(dir_wcc) => NfsResult::Ok(Rmdir3ResOk { dir_wcc }),
        Err(e) => NfsResult::Fail(status(&e), p.wcc_after(c, &a.object.dir).await),
    }
}

pub(super) async fn rename(p: &Programs, c: &Caller, a: Rename3Args) -> Rename3Res {
    let r = async {
        let (s, from) = p.resolve(&a.from.dir)?;
        let (_, to) = p.resolve(&a.to.dir)?;
        let (f, t) = s
            .meta
            .rename(&c.auth, &from, &a.from.name, &to, &a.to.name)
            .await?;
        Ok(Rename3ResOk {
            fromdir_wcc: wcc(s.id, &f),
            todir_wcc: wcc(s.id, &t),
        })
    };
    match r.await {
        Ok(ok) => NfsResult::Ok(ok),
        Err(e) => NfsResult::Fail(
            status(&e),
            Rename3ResOk {
                fromdir_wcc: p.wcc_after(c, &a.from.dir).await,
                todir_wcc: p.wcc_after(c, &a.to.dir).await,
            },
        ),
    }
}

pub(super) async fn link(p: &Programs, c: &Caller, a: Link3Args) -> Link3Res {
    let r = async {
        let (s, file) = p.resolve(&a.file)?;
        let (_, dir) = p.resolve(&a.link.dir)?;
        let (attrs, dir_wcc) = s.meta.link(&c.auth, &file, &dir, &a.link.name).await?;
        Ok(Link3ResOk {
            file_attributes: Some(fattr(s.id, &attrs)),
            linkdir_wcc: wcc(s.id, &dir_wcc),
        })
    };
    match r.await {
        Ok(ok) => NfsResult::Ok(ok),
        Err(e) => NfsResult::Fail(
            status(&e),
            Link3ResOk {
                file_attributes: p.post_op(c, &a.file).await,
                linkdir_wcc: p.wcc_after(c, &a.link.dir).await,
            },
        ),
    }
}
