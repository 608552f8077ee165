//! The NFSv3 procedures on one connection.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use dittofs_nfs_wire::nfs3::{
    Commit3Args, Commit3ResOk, Create3Args, Create3ResOk, CreateHow3, DirOpArgs3, EntryPlus3,
    FailBody, Fattr3, FsInfo3Args, FsInfo3ResOk, GetAttr3Args, GetAttr3ResOk, Lookup3Args,
    Lookup3ResOk, Mkdir3Args, NfsFh3, NfsResult, NfsStat3, PostOpAttr, Procedure, Read3Args,
    Read3ResOk, ReadDirPlus3Args, ReadDirPlus3ResOk, Remove3Args, Remove3ResOk, Sattr3, StableHow,
    WccData, Write3Args, Write3ResOk, WriteVerf3,
};
use dittofs_xdr::Xdr;

use crate::error::ClientError;
use crate::rpc::RpcConnection;

/// `dircount` asked of READDIRPLUS by [`NfsClient::readdirplus_all`].
pub const READDIRPLUS_DIRCOUNT: u32 = 16 * 1024;
/// `maxcount` asked of READDIRPLUS by [`NfsClient::readdirplus_all`].
pub const READDIRPLUS_MAXCOUNT: u32 = 64 * 1024;
/// Bound on the pages of one listing, against a server whose cookies never
/// reach the end.
const MAX_PAGES: usize = 1 << 20;
/// A call answered NFS3ERR_JUKEBOX is sent again after a pause that doubles
/// from the first to the longest, until this much time was spent waiting.
const JUKEBOX_FIRST_PAUSE: Duration = Duration::from_millis(10);
const JUKEBOX_MAX_PAUSE: Duration = Duration::from_secs(1);
const JUKEBOX_PATIENCE: Duration = Duration::from_secs(60);

/// A new file or directory: its handle and, when the server sent them, its
/// attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created {
    pub handle: NfsFh3,
    pub attributes: Option<Fattr3>,
}

/// One NFS connection. Calls are sequential: a method returns when its
/// reply has arrived (or failed). Open several for concurrency.
pub struct NfsClient {
    rpc: RpcConnection,
}

impl NfsClient {
    pub(crate) fn new(rpc: RpcConnection) -> Self {
        Self { rpc }
    }

    pub fn addr(&self) -> SocketAddr {
        self.rpc.addr()
    }

    async fn call<A: Xdr, T: Xdr, F: FailBody>(
        &mut self,
        proc_: Procedure,
        name: &'static str,
        what: impl FnOnce() -> Option<String>,
        args: &A,
    ) -> Result<T, ClientError> {
        let mut waited = Duration::ZERO;
        let mut pause = JUKEBOX_FIRST_PAUSE;
        loop {
            match self
                .rpc
                .call::<A, NfsResult<T, F>>(proc_ as u32, name, args)
                .await?
            {
                NfsResult::Ok(v) => return Ok(v),
                // The server did nothing and asks to be asked again later,
                // as kernel clients do.
                NfsResult::Fail(NfsStat3::Jukebox, _) if waited < JUKEBOX_PATIENCE => {
                    tokio::time::sleep(pause).await;
                    waited += pause;
                    pause = (pause * 2).min(JUKEBOX_MAX_PAUSE);
                }
                NfsResult::Fail(status, _) => {
                    return Err(ClientError::Nfs {
                        procedure: name,
                        what: what(),
                        status,
                    });
                }
            }
        }
    }

    /// NULL: a round trip that does nothing.
    pub async fn null(&mut self) -> Result<(), ClientError> {
        self.rpc.call(Procedure::Null as u32, "NULL", &()).await
    }

    pub async fn getattr(&mut self, object: &NfsFh3) -> Result<Fattr3, ClientError> {
        let args = GetAttr3Args {
            object: object.clone(),
        };
        self.call::<_, GetAttr3ResOk, ()>(Procedure::GetAttr, "GETATTR", || None, &args)
            .await
            .map(|ok| ok.obj_attributes)
    }

    pub async fn lookup(
        &mut self,
        dir: &NfsFh3,
        name: impl AsRef<[u8]>,
    ) -> Result<Lookup3ResOk, ClientError> {
        let name = name.as_ref();
        let args = Lookup3Args {
            what: diropargs(dir, name),
        };
        self.call::<_, Lookup3ResOk, PostOpAttr>(
            Procedure::Lookup,
            "LOOKUP",
            || quoted(name),
            &args,
        )
        .await
    }

    /// CREATE with `how` (UNCHECKED, GUARDED or EXCLUSIVE). A server that
    /// sends no handle back is asked for it with LOOKUP.
    pub async fn create(
        &mut self,
        dir: &NfsFh3,
        name: impl AsRef<[u8]>,
        how: CreateHow3,
    ) -> Result<Created, ClientError> {
        let name = name.as_ref();
        let args = Create3Args {
            where_: diropargs(dir, name),
            how,
        };
        let ok: Create3ResOk = self
            .call::<_, _, WccData>(Procedure::Create, "CREATE", || quoted(name), &args)
            .await?;
        self.created(dir, name, ok).await
    }

    /// MKDIR with `mode`.
    pub async fn mkdir(
        &mut self,
        dir: &NfsFh3,
        name: impl AsRef<[u8]>,
        mode: u32,
    ) -> Result<Created, ClientError> {
        let name = name.as_ref();
        let args = Mkdir3Args {
            where_: diropargs(dir, name),
            attributes: Sattr3 {
                mode: Some(mode),
                ..Sattr3::default()
            },
        };
        let ok: Create3ResOk = self
            .call::<_, _, WccData>(Procedure::Mkdir, "MKDIR", || quoted(name), &args)
            .await?;
        self.created(dir, name, ok).await
    }

    async fn created(
        &mut self,
        dir: &NfsFh3,
        name: &[u8],
        ok: Create3ResOk,
    ) -> Result<Created, ClientError> {
        match ok.obj {
            Some(handle) => Ok(Created {
                handle,
                attributes: ok.obj_attributes,
            }),
            None => {
                let found = self.lookup(dir, name).await?;
                Ok(Created {
                    handle: found.object,
                    attributes: found.obj_attributes,
                })
            }
        }
    }

    /// WRITE `data` at `offset`. The server may write fewer bytes than sent
    /// (`count` in the result); the caller decides whether to send the rest.
    pub async fn write(
        &mut self,
        file: &NfsFh3,
        offset: u64,
        data: Bytes,
        stable: StableHow,
    ) -> Result<Write3ResOk, ClientError> {
        let args = Write3Args {
            file: file.clone(),
            offset,
            count: data.len() as u32,
            stable,
            data,
        };
        self.call::<_, Write3ResOk, WccData>(Procedure::Write, "WRITE", || None, &args)
            .await
    }

    /// READ up to `count` bytes at `offset`.
    pub async fn read(
        &mut self,
        file: &NfsFh3,
        offset: u64,
        count: u32,
    ) -> Result<Read3ResOk, ClientError> {
        let args = Read3Args {
            file: file.clone(),
            offset,
            count,
        };
        self.call::<_, Read3ResOk, PostOpAttr>(Procedure::Read, "READ", || None, &args)
            .await
    }

    /// COMMIT `count` bytes from `offset` (0 and 0: the whole file); returns
    /// the write verifier.
    pub async fn commit(
        &mut self,
        file: &NfsFh3,
        offset: u64,
        count: u32,
    ) -> Result<WriteVerf3, ClientError> {
        let args = Commit3Args {
            file: file.clone(),
            offset,
            count,
        };
        self.call::<_, Commit3ResOk, WccData>(Procedure::Commit, "COMMIT", || None, &args)
            .await
            .map(|ok| ok.verf)
    }

    pub async fn remove(
        &mut self,
        dir: &NfsFh3,
        name: impl AsRef<[u8]>,
    ) -> Result<(), ClientError> {
        let name = name.as_ref();
        let args = Remove3Args {
            object: diropargs(dir, name),
        };
        self.call::<_, Remove3ResOk, WccData>(Procedure::Remove, "REMOVE", || quoted(name), &args)
            .await
            .map(drop)
    }

    pub async fn rmdir(&mut self, dir: &NfsFh3, name: impl AsRef<[u8]>) -> Result<(), ClientError> {
        let name = name.as_ref();
        let args = Remove3Args {
            object: diropargs(dir, name),
        };
        self.call::<_, Remove3ResOk, WccData>(Procedure::Rmdir, "RMDIR", || quoted(name), &args)
            .await
            .map(drop)
    }

    /// One READDIRPLUS page from `cookie` (0 and a zero verifier: the start).
    pub async fn readdirplus(
        &mut self,
        dir: &NfsFh3,
        cookie: u64,
        cookieverf: [u8; 8],
        dircount: u32,
        maxcount: u32,
    ) -> Result<ReadDirPlus3ResOk, ClientError> {
        let args = ReadDirPlus3Args {
            dir: dir.clone(),
            cookie,
            cookieverf,
            dircount,
            maxcount,
        };
        self.call::<_, ReadDirPlus3ResOk, PostOpAttr>(
            Procedure::ReadDirPlus,
            "READDIRPLUS",
            || None,
            &args,
        )
        .await
    }

    /// Every entry of `dir` (including "." and ".." when the server lists
    /// them), paging with READDIRPLUS.
    pub async fn readdirplus_all(&mut self, dir: &NfsFh3) -> Result<Vec<EntryPlus3>, ClientError> {
        let mut out = Vec::new();
        let mut cookie = 0;
        let mut verf = [0u8; 8];
        for _ in 0..MAX_PAGES {
            let page = self
                .readdirplus(
                    dir,
                    cookie,
                    verf,
                    READDIRPLUS_DIRCOUNT,
                    READDIRPLUS_MAXCOUNT,
                )
                .await?;
            verf = page.cookieverf;
            let last = page.entries.last().map(|e| e.cookie);
            out.extend(page.entries);
            match (page.eof, last) {
                (true, _) => return Ok(out),
                (false, Some(c)) => cookie = c,
                // No entry and no end: the server cannot make progress.
                (false, None) => break,
            }
        }
        Err(ClientError::Malformed {
            addr: self.addr(),
            program: "NFS",
            procedure: "READDIRPLUS",
            detail: "the listing never reached its end".into(),
        })
    }

    /// FSINFO of the file system holding `root`: transfer sizes and limits.
    pub async fn fsinfo(&mut self, root: &NfsFh3) -> Result<FsInfo3ResOk, ClientError> {
        let args = FsInfo3Args {
            fsroot: root.clone(),
        };
        self.call::<_, FsInfo3ResOk, PostOpAttr>(Procedure::FsInfo, "FSINFO", || None, &args)
            .await
    }
}

fn diropargs(dir: &NfsFh3, name: &[u8]) -> DirOpArgs3 {
    DirOpArgs3 {
        dir: dir.clone(),
        name: Bytes::copy_from_slice(name),
    }
}

fn quoted(name: &[u8]) -> Option<String> {
    Some(format!("{:?}", String::from_utf8_lossy(name)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpc::tests::serve_fake;
    use dittofs_xdr::{OpaqueAuth, ReplyHeader};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn a_call_answered_jukebox_is_sent_again_until_it_succeeds() {
        let calls = Arc::new(AtomicU32::new(0));
        let seen = calls.clone();
        let addr = serve_fake(move |xid, w| {
            ReplyHeader::success().encode(xid, w);
            let reply: NfsResult<Remove3ResOk, WccData> = if seen.fetch_add(1, Ordering::SeqCst) < 3
            {
                NfsResult::Fail(NfsStat3::Jukebox, WccData::default())
            } else {
                NfsResult::Ok(Remove3ResOk::default())
            };
            reply.encode(w);
            true
        })
        .await;
        let t = Duration::from_secs(5);
        let rpc = RpcConnection::connect(addr, "NFS", 100003, 3, OpaqueAuth::default(), t, t)
            .await
            .unwrap();
        let mut nfs = NfsClient::new(rpc);
        nfs.remove(&NfsFh3::default(), "f").await.unwrap();
        assert_eq!(
            calls.load(Ordering::SeqCst),
            4,
            "three JUKEBOX answers, then success"
        );
    }
}
