use dittofs_content::Stability;
use dittofs_meta::FsError;
use dittofs_nfs_wire::nfs3::*;

use super::convert::{fattr, pre, status};
use crate::rpc::{Caller, Programs};

fn stability(s: StableHow) -> Stability {
    match s {
        StableHow::Unstable => Stability::Unstable,
        StableHow::DataSync => Stability::DataSync,
        StableHow::FileSync => Stability::FileSync,
    }
}

fn stable_how(s: Stability) -> StableHow {
    match s {
        Stability::Unstable => StableHow::Unstable,
        Stability::DataSync => StableHow::DataSync,
        Stability::FileSync => StableHow::FileSync,
    }
}

pub(super) async fn read(p: &Programs, c: &Caller, a: Read3Args) -> Read3Res {
    let r = async {
        let (s, fh) = p.resolve(&a.file)?;
        let count = a.count.min(p.limits.max_io);
        let out = s.content.read(&c.auth, &fh, a.offset, count).await?;
        p.meter.bytes_read(out.data.len() as u64);
        Ok(Read3ResOk {
            file_attributes: Some(fattr(s.id, &out.attrs)),
            count: out.data.len() as u32,
            eof: out.eof,
            data: out.data,
        })
    };
    match r.await {
        Ok(ok) => NfsResult::Ok(ok),
        Err(e) => NfsResult::Fail(status(&e), p.post_op(c, &a.file).await),
    }
}

pub(super) async fn write(p: &Programs, c: &Caller, a: Write3Args) -> Write3Res {
    let r = async {
        let (s, fh) = p.resolve(&a.file)?;
        // The opaque data must hold at least `count` bytes; extra is ignored.
        if (a.data.len() as u64) < a.count as u64 {
            return Err(FsError::Invalid);
        }
        let data = a.data.slice(..a.count as usize);
        let w = s
            .content
            .write(&c.auth, &fh, a.offset, data, stability(a.stable))
            .await?;
        p.meter.bytes_written(w.count as u64);
        Ok(Write3ResOk {
            file_wcc: WccData {
                before: Some(pre(&w.outcome.before)),
                after: Some(fattr(s.id, &w.outcome.after)),
            },
            count: w.count,
            committed: stable_how(w.committed),
            verf: w.verifier,
        })
    };
    match r.await {
        Ok(ok) => NfsResult::Ok(ok),
        Err(e) => NfsResult::Fail(status(&e), p.wcc_after(c, &a.file).await),
    }
}

pub(super) async fn commit(p: &Programs, c: &Caller, a: Commit3Args) -> Commit3Res {
    let r = async {
        let (s, fh) = p.resolve(&a.file)?;
        let (inode, verf) = s.content.commit(&c.auth, &fh).await?;
        Ok(Commit3ResOk {
            file_wcc: WccData {
                before: None,
                after: Some(fattr(s.id, &inode)),
            },
            verf,
        })
    };
    match r.await {
        Ok(ok) => NfsResult::Ok(ok),
        Err(e) => NfsResult::Fail(status(&e), p.wcc_after(c, &a.file).await),
    }
}
