//! Round trips over loopback TCP against an in-process server on memory
//! stores: one call in flight at a time, so each iteration is a full
//! request -> dispatch -> service -> reply cycle.
//!
//! Run: `cargo bench -p dittofs-nfs --bench rpc_roundtrip`

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;

use bytes::Bytes;
use dittofs_blocks::MemoryBlockStore;
use dittofs_content::{ContentOptions, DataPath};
use dittofs_meta::{HandleKey, MemoryMetadataStore, RootAttrs, ShareOptions};
use dittofs_nfs::{NfsAdapter, NfsConfig};
use dittofs_nfs_wire::mount::{self, DirPath, MountRes3};
use dittofs_nfs_wire::nfs3::{self, *};
use dittofs_runtime::{Adapter, Registry, ShareSpec};
use dittofs_xdr::{AuthSys, CallHeader, OpaqueAuth, ReplyHeader, Xdr, XdrReader, XdrWriter};

fn main() {
    divan::main();
}

/// A blocking RPC client: one call, then wait for its reply.
struct Client {
    sock: TcpStream,
    xid: u32,
    cred: OpaqueAuth,
}

impl Client {
    fn connect(addr: SocketAddr) -> Self {
        let sock = TcpStream::connect(addr).expect("connect");
        sock.set_nodelay(true).expect("nodelay");
        let cred = OpaqueAuth {
            flavor: 1,
            body: AuthSys::default().encode(),
        };
        Self { sock, xid: 1, cred }
    }

    fn call<A: Xdr, R: Xdr>(&mut self, prog: u32, vers: u32, proc_: u32, args: &A) -> R {
        self.xid += 1;
        let mut w = XdrWriter::new();
        CallHeader {
            xid: self.xid,
            rpcvers: 2,
            prog,
            vers,
            proc_,
            cred: self.cred.clone(),
            verf: OpaqueAuth::default(),
        }
        .encode(&mut w);
        args.encode(&mut w);
        let body = w.into_bytes();
        let mut msg = Vec::with_capacity(body.len() + 4);
        msg.extend_from_slice(&(body.len() as u32 | 0x8000_0000).to_be_bytes());
        msg.extend_from_slice(&body);
        self.sock.write_all(&msg).expect("send");
        let mut hdr = [0u8; 4];
        self.sock.read_exact(&mut hdr).expect("reply header");
        let len = (u32::from_be_bytes(hdr) & 0x7fff_ffff) as usize;
        let mut buf = vec![0u8; len];
        self.sock.read_exact(&mut buf).expect("reply");
        let mut r = XdrReader::new(Bytes::from(buf));
        let (xid, h) = ReplyHeader::decode(&mut r).expect("reply header");
        assert_eq!((xid, h), (self.xid, ReplyHeader::success()));
        R::decode(&mut r).expect("result")
    }
}

struct Fixture {
    _rt: tokio::runtime::Runtime,
    addr: SocketAddr,
    root: NfsFh3,
}

fn fixture() -> Fixture {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let addr = rt.block_on(async {
        let spec = ShareSpec {
            name: "/export".into(),
            metadata: Arc::new(MemoryMetadataStore::new()),
            blocks: Arc::new(MemoryBlockStore::new()),
            options: ShareOptions::default(),
            root: RootAttrs {
                mode: 0o777,
                uid: 0,
                gid: 0,
            },
            content: ContentOptions::default(),
            bucket: Default::default(),
            created: false,
        };
        let registry = Arc::new(
            Registry::build(
                HandleKey::from_bytes([3; 32]),
                vec![spec],
                &DataPath::new(256 << 20),
                None,
            )
            .await
            .expect("registry"),
        );
        let mut adapter = NfsAdapter::new(NfsConfig {
            bind: "127.0.0.1:0".parse().expect("addr"),
            ..NfsConfig::default()
        });
        adapter.bind().await.expect("bind");
        let addr = adapter.local_addr().expect("bound");
        tokio::spawn(Box::new(adapter).serve(registry, Default::default()));
        addr
    });
    let mut c = Client::connect(addr);
    let root = match c.call::<_, MountRes3>(
        mount::PROGRAM,
        mount::VERSION,
        1,
        &DirPath(Bytes::from_static(b"/export")),
    ) {
        MountRes3::Ok { fhandle, .. } => NfsFh3(fhandle.0),
        MountRes3::Err(e) => panic!("mount: {e:?}"),
    };
    Fixture {
        _rt: rt,
        addr,
        root,
    }
}

#[divan::bench]
fn getattr(bencher: divan::Bencher) {
    let f = fixture();
    let mut c = Client::connect(f.addr);
    let args = GetAttr3Args {
        object: f.root.clone(),
    };
    bencher.bench_local(|| {
        let r: GetAttr3Res = c.call(
            nfs3::PROGRAM,
            nfs3::VERSION,
            Procedure::GetAttr as u32,
            &args,
        );
        assert!(matches!(r, NfsResult::Ok(_)));
    });
}

#[divan::bench]
fn write_4k(bencher: divan::Bencher) {
    let f = fixture();
    let mut c = Client::connect(f.addr);
    let created: Create3Res = c.call(
        nfs3::PROGRAM,
        nfs3::VERSION,
        Procedure::Create as u32,
        &Create3Args {
            where_: DirOpArgs3 {
                dir: f.root.clone(),
                name: Bytes::from_static(b"bench"),
            },
            how: CreateHow3::Unchecked(Sattr3::default()),
        },
    );
    let NfsResult::Ok(Create3ResOk {
        obj: Some(file), ..
    }) = created
    else {
        panic!("create failed: {created:?}");
    };
    // Distinct content per write, over a 64 MiB file, so neither dedup nor
    // a single hot extent flatters the figure.
    let mut n = 0u64;
    bencher.bench_local(|| {
        n += 1;
        let mut data = vec![0u8; 4096];
        data[..8].copy_from_slice(&n.to_le_bytes());
        let args = Write3Args {
            file: file.clone(),
            offset: (n % 16384) * 4096,
            count: 4096,
            stable: StableHow::Unstable,
            data: Bytes::from(data),
        };
        let r: Write3Res = c.call(nfs3::PROGRAM, nfs3::VERSION, Procedure::Write as u32, &args);
        assert!(matches!(r, NfsResult::Ok(_)));
    });
}
