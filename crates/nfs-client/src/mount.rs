//! Finding a server (name resolution, the portmapper), mounting an export
//! with MOUNT v3, and opening NFS connections to it.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use bytes::Bytes;
use dittofs_nfs_wire::mount::{self, DirPath, MountRes3};
use dittofs_nfs_wire::nfs3::{self, NfsFh3};
use dittofs_nfs_wire::portmap::{self, Mapping};
use dittofs_xdr::{AuthFlavor, AuthSys, OpaqueAuth};

use crate::error::{ClientError, describe_io};
use crate::nfs::NfsClient;
use crate::rpc::RpcConnection;
use crate::url::Url;

/// Timeouts of every connection the client opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientOptions {
    /// Bound on resolving the host and on each TCP connect.
    pub connect_timeout: Duration,
    /// Bound on each call, from sending it to the whole reply.
    pub call_timeout: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            call_timeout: Duration::from_secs(60),
        }
    }
}

/// A mounted export: where its NFS service is, its root handle, and the
/// credential every call carries. Open as many connections as wanted with
/// [`Mount::connect`].
#[derive(Debug, Clone)]
pub struct Mount {
    url: Url,
    nfs_addr: SocketAddr,
    mount_addr: SocketAddr,
    root: NfsFh3,
    cred: OpaqueAuth,
    uid: u32,
    gid: u32,
    options: ClientOptions,
}

impl Mount {
    /// Resolves the host, asks the portmapper for any port the URL does not
    /// give, and MNTs the URL's path.
    pub async fn mount(url: &Url, options: &ClientOptions) -> Result<Self, ClientError> {
        let ip = resolve(&url.host, options.connect_timeout).await?;
        let (nfs_port, mount_port) = match (url.nfs_port(), url.mount_port()) {
            (Some(n), Some(m)) => (n, m),
            (n, m) => {
                let mut pmap = Portmapper::connect(ip, options).await?;
                let n = match n {
                    Some(n) => n,
                    None => pmap.getport("NFS", nfs3::PROGRAM, nfs3::VERSION).await?,
                };
                let m = match m {
                    Some(m) => m,
                    None => {
                        pmap.getport("MOUNT", mount::PROGRAM, mount::VERSION)
                            .await?
                    }
                };
                (n, m)
            }
        };
        let (proc_uid, proc_gid) = process_identity();
        let uid = url.uid.unwrap_or(proc_uid);
        let gid = url.gid.unwrap_or(proc_gid);
        let cred = OpaqueAuth {
            flavor: AuthFlavor::Sys as u32,
            body: AuthSys {
                stamp: 0,
                machine_name: machine_name(),
                uid,
                gid,
                gids: Vec::new(),
            }
            .encode(),
        };
        let mount_addr = SocketAddr::new(ip, mount_port);
        let mut conn = RpcConnection::connect(
            mount_addr,
            "MOUNT",
            mount::PROGRAM,
            mount::VERSION,
            cred.clone(),
            options.connect_timeout,
            options.call_timeout,
        )
        .await?;
        let path = DirPath(Bytes::copy_from_slice(url.path.as_bytes()));
        let res: MountRes3 = conn
            .call(mount::Procedure::Mnt as u32, "MNT", &path)
            .await?;
        let root = match res {
            MountRes3::Ok { fhandle, .. } => NfsFh3::from(fhandle),
            MountRes3::Err(status) => {
                return Err(ClientError::Mount {
                    addr: mount_addr,
                    path: url.path.clone(),
                    status,
                });
            }
        };
        Ok(Self {
            url: url.clone(),
            nfs_addr: SocketAddr::new(ip, nfs_port),
            mount_addr,
            root,
            cred,
            uid,
            gid,
            options: *options,
        })
    }

    /// Opens a new NFS connection (one call in flight at a time on it).
    pub async fn connect(&self) -> Result<NfsClient, ClientError> {
        let rpc = RpcConnection::connect(
            self.nfs_addr,
            "NFS",
            nfs3::PROGRAM,
            nfs3::VERSION,
            self.cred.clone(),
            self.options.connect_timeout,
            self.options.call_timeout,
        )
        .await?;
        Ok(NfsClient::new(rpc))
    }

    /// Tells the server the export is no longer mounted (UMNT). The handles
    /// stay valid: NFSv3 servers do not tie them to mounts.
    pub async fn unmount(&self) -> Result<(), ClientError> {
        let mut conn = RpcConnection::connect(
            self.mount_addr,
            "MOUNT",
            mount::PROGRAM,
            mount::VERSION,
            self.cred.clone(),
            self.options.connect_timeout,
            self.options.call_timeout,
        )
        .await?;
        let path = DirPath(Bytes::copy_from_slice(self.url.path.as_bytes()));
        conn.call::<_, ()>(mount::Procedure::Umnt as u32, "UMNT", &path)
            .await
    }

    /// The root handle of what was mounted.
    pub fn root(&self) -> &NfsFh3 {
        &self.root
    }

    pub fn url(&self) -> &Url {
        &self.url
    }

    pub fn nfs_addr(&self) -> SocketAddr {
        self.nfs_addr
    }

    pub fn mount_addr(&self) -> SocketAddr {
        self.mount_addr
    }

    /// The AUTH_SYS uid and gid every call carries.
    pub fn identity(&self) -> (u32, u32) {
        (self.uid, self.gid)
    }
}

/// The first address of `host` (an IP address is taken as it is).
pub async fn resolve(host: &str, timeout: Duration) -> Result<IpAddr, ClientError> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(ip);
    }
    let fail = |reason: String| ClientError::Resolve {
        host: host.to_string(),
        reason,
    };
    let mut addrs = tokio::time::timeout(timeout, tokio::net::lookup_host((host, 0)))
        .await
        .map_err(|_| fail(format!("no answer within {}s", timeout.as_secs_f64())))?
        .map_err(|e| fail(describe_io(&e)))?;
    addrs
        .next()
        .map(|a| a.ip())
        .ok_or_else(|| fail("the name has no address".into()))
}

/// A portmapper (v2) on the standard port.
struct Portmapper {
    conn: RpcConnection,
}

impl Portmapper {
    async fn connect(ip: IpAddr, options: &ClientOptions) -> Result<Self, ClientError> {
        let addr = SocketAddr::new(ip, portmap::PMAP_PORT as u16);
        let conn = RpcConnection::connect(
            addr,
            "portmapper",
            portmap::PROGRAM,
            portmap::VERSION,
            OpaqueAuth::default(),
            options.connect_timeout,
            options.call_timeout,
        )
        .await
        .map_err(|e| match e {
            ClientError::Connect { addr, reason, .. } => ClientError::NoPortmapper { addr, reason },
            e => e,
        })?;
        Ok(Self { conn })
    }

    async fn getport(
        &mut self,
        program: &'static str,
        prog: u32,
        vers: u32,
    ) -> Result<u16, ClientError> {
        let mapping = Mapping {
            prog,
            vers,
            prot: portmap::IPPROTO_TCP,
            port: 0,
        };
        let port: u32 = self
            .conn
            .call(portmap::Procedure::GetPort as u32, "GETPORT", &mapping)
            .await?;
        match u16::try_from(port) {
            Ok(p) if p != 0 => Ok(p),
            _ => Err(ClientError::NotRegistered {
                addr: self.conn.addr(),
                program,
                version: vers,
            }),
        }
    }
}

/// The process's effective uid and gid: the owner of `/proc/self`. Without
/// procfs, nobody (65534).
fn process_identity() -> (u32, u32) {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self")
        .map(|m| (m.uid(), m.gid()))
        .unwrap_or((65534, 65534))
}

/// The host name sent in the AUTH_SYS credential.
fn machine_name() -> Bytes {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty() && s.len() <= dittofs_xdr::MAX_MACHINE_NAME)
        .unwrap_or_else(|| "localhost".to_string());
    Bytes::from(name)
}
