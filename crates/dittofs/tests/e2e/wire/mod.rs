//! Malformed and hostile input on raw sockets: every case gets the right
//! RPC error or its connection closed, memory stays bounded, and other
//! clients keep being served.

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

use bytes::Bytes;
use dittofs_xdr::{
    AcceptStat, AuthStat, AuthSys, CallHeader, OpaqueAuth, RejectedReply, ReplyHeader, Xdr,
    XdrReader, XdrWriter,
};

use crate::harness::Server;

pub(super) const PORTMAP: u32 = 100000;
pub(super) const NFS: u32 = 100003;
pub(super) const MOUNT: u32 = 100005;

pub(super) const NFS_NULL: u32 = 0;
pub(super) const NFS_GETATTR: u32 = 1;
pub(super) const NFS_SETATTR: u32 = 2;
pub(super) const NFS_WRITE: u32 = 7;
pub(super) const NFS_CREATE: u32 = 8;
pub(super) const MOUNT_MNT: u32 = 1;

pub(super) const NFS3_OK: u32 = 0;
pub(super) const NFS3ERR_INVAL: u32 = 22;

pub(super) const LAST: u32 = 0x8000_0000;
/// The server's default record cap: 1 MiB of payload plus 64 KiB.
pub(super) const MAX_RECORD: usize = (1 << 20) + (64 << 10);
/// How long a reply (or the close of a connection) may take.
pub(super) const TIMEOUT: Duration = Duration::from_secs(10);

pub(super) fn connect(server: &Server) -> TcpStream {
    let s = TcpStream::connect(server.addr()).expect("connect to the server");
    s.set_read_timeout(Some(TIMEOUT)).expect("read timeout");
    s.set_write_timeout(Some(TIMEOUT)).expect("write timeout");
    s.set_nodelay(true).expect("nodelay");
    s
}

pub(super) fn root_cred() -> OpaqueAuth {
    OpaqueAuth {
        flavor: 1,
        body: AuthSys {
            machine_name: Bytes::from_static(b"wire-test"),
            ..AuthSys::default()
        }
        .encode(),
    }
}

pub(super) fn header(xid: u32, prog: u32, vers: u32, proc_: u32) -> CallHeader {
    CallHeader {
        xid,
        rpcvers: 2,
        prog,
        vers,
        proc_,
        cred: root_cred(),
        verf: OpaqueAuth::default(),
    }
}

/// An RPC call message (no record mark).
pub(super) fn call_msg(h: &CallHeader, args: &[u8]) -> Vec<u8> {
    let mut w = XdrWriter::new();
    h.encode(&mut w);
    let mut out = w.into_bytes().to_vec();
    out.extend_from_slice(args);
    out
}

pub(super) fn call(xid: u32, prog: u32, vers: u32, proc_: u32, args: &[u8]) -> Vec<u8> {
    call_msg(&header(xid, prog, vers, proc_), args)
}

/// `body` as one record of a single fragment.
pub(super) fn record(body: &[u8]) -> Vec<u8> {
    let mut out = (body.len() as u32 | LAST).to_be_bytes().to_vec();
    out.extend_from_slice(body);
    out
}

/// `body` as one record cut at the given offsets into several fragments.
pub(super) fn fragmented(body: &[u8], cuts: &[usize]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, &end) in cuts.iter().chain([&body.len()]).enumerate() {
        let mut h = (end - start) as u32;
        if i == cuts.len() {
            h |= LAST;
        }
        out.extend_from_slice(&h.to_be_bytes());
        out.extend_from_slice(&body[start..end]);
        start = end;
    }
    out
}

pub(super) fn xdr(f: impl FnOnce(&mut XdrWriter)) -> Vec<u8> {
    let mut w = XdrWriter::new();
    f(&mut w);
    w.into_bytes().to_vec()
}

pub(super) fn send(s: &mut TcpStream, bytes: &[u8], case: &str) {
    s.write_all(bytes)
        .unwrap_or_else(|e| panic!("[{case}] sending failed: {e}"));
}

/// Reads one whole record (all its fragments).
pub(super) fn read_record(s: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let mut h = [0u8; 4];
        s.read_exact(&mut h)?;
        let h = u32::from_be_bytes(h);
        let len = (h & !LAST) as usize;
        assert!(len <= 64 << 20, "reply fragment of {len} bytes");
        let start = out.len();
        out.resize(start + len, 0);
        s.read_exact(&mut out[start..])?;
        if h & LAST != 0 {
            return Ok(out);
        }
    }
}

/// The next reply on `s`: its xid, header, and a reader at its body.
pub(super) fn read_reply(s: &mut TcpStream, case: &str) -> (u32, ReplyHeader, XdrReader) {
    let rec = read_record(s).unwrap_or_else(|e| panic!("[{case}] no reply: {e}"));
    let mut r = XdrReader::new(Bytes::from(rec));
    let (xid, h) =
        ReplyHeader::decode(&mut r).unwrap_or_else(|e| panic!("[{case}] unreadable reply: {e}"));
    (xid, h, r)
}

/// The reply to `xid`, which must be the next one on `s`.
pub(super) fn reply_to(s: &mut TcpStream, xid: u32, case: &str) -> (ReplyHeader, XdrReader) {
    let (got, h, r) = read_reply(s, case);
    assert_eq!(got, xid, "[{case}] reply to the wrong xid");
    (h, r)
}

pub(super) fn expect_accepted(
    s: &mut TcpStream,
    xid: u32,
    want: AcceptStat,
    case: &str,
) -> XdrReader {
    let (h, r) = reply_to(s, xid, case);
    match h {
        ReplyHeader::Accepted { stat, .. } => {
            assert_eq!(stat, want, "[{case}] wrong accept_stat");
        }
        ReplyHeader::Denied(d) => panic!("[{case}] call denied ({d:?}), expected {want:?}"),
    }
    r
}

pub(super) fn expect_denied(s: &mut TcpStream, xid: u32, want: RejectedReply, case: &str) {
    let (h, r) = reply_to(s, xid, case);
    assert_eq!(h, ReplyHeader::Denied(want), "[{case}] wrong reply");
    assert_eq!(r.remaining(), 0, "[{case}] bytes after a denied reply");
}

/// How the server answered a malformed record.
#[derive(Debug)]
pub(super) enum Outcome {
    Closed,
    Reply(u32, ReplyHeader),
    Silent,
}

/// Waits for the connection to be closed by the server, or for a reply.
pub(super) fn outcome(s: &mut TcpStream, wait: Duration) -> Outcome {
    s.set_read_timeout(Some(wait)).expect("read timeout");
    let mut h = [0u8; 1];
    let out = match s.peek(&mut h) {
        Ok(0) => Outcome::Closed,
        Ok(_) => match read_record(s) {
            Ok(rec) => {
                let mut r = XdrReader::new(Bytes::from(rec));
                let (xid, h) = ReplyHeader::decode(&mut r).expect("unreadable reply");
                Outcome::Reply(xid, h)
            }
            Err(_) => Outcome::Closed,
        },
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
            Outcome::Silent
        }
        Err(_) => Outcome::Closed,
    };
    s.set_read_timeout(Some(TIMEOUT)).expect("read timeout");
    out
}

pub(super) fn expect_closed(s: &mut TcpStream, case: &str) {
    match outcome(s, TIMEOUT) {
        Outcome::Closed => {}
        other => panic!("[{case}] connection should have been closed, got {other:?}"),
    }
}

/// Writes as much as the server takes of `bytes`; a server that closes
/// the connection makes the write fail, which is fine.
pub(super) fn send_lossy(s: &mut TcpStream, bytes: &[u8]) -> usize {
    let mut sent = 0;
    while sent < bytes.len() {
        match s.write(&bytes[sent..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => sent += n,
        }
    }
    sent
}

pub(super) fn null_ok(s: &mut TcpStream, xid: u32, case: &str) {
    send(s, &record(&call(xid, NFS, 3, NFS_NULL, &[])), case);
    let r = expect_accepted(s, xid, AcceptStat::Success, case);
    assert_eq!(r.remaining(), 0, "[{case}] NULL reply has a body");
}

/// The root handle of `/export`, through MOUNT.
pub(super) fn mount_root(s: &mut TcpStream, xid: u32) -> Vec<u8> {
    let args = xdr(|w| w.opaque(b"/export"));
    send(s, &record(&call(xid, MOUNT, 3, MOUNT_MNT, &args)), "mount");
    let mut r = expect_accepted(s, xid, AcceptStat::Success, "mount");
    assert_eq!(r.u32().unwrap(), 0, "MNT /export failed");
    r.opaque(64).unwrap().to_vec()
}

pub(super) fn getattr_args(fh: &[u8]) -> Vec<u8> {
    xdr(|w| w.opaque(fh))
}

pub(super) fn getattr_ok(s: &mut TcpStream, fh: &[u8], xid: u32, case: &str) {
    send(
        s,
        &record(&call(xid, NFS, 3, NFS_GETATTR, &getattr_args(fh))),
        case,
    );
    let mut r = expect_accepted(s, xid, AcceptStat::Success, case);
    assert_eq!(r.u32().unwrap(), NFS3_OK, "[{case}] GETATTR status");
    assert_eq!(r.u32().unwrap(), 2, "[{case}] root is not a directory");
}

/// A fresh connection that mounts and does a GETATTR: proof the server
/// still serves.
pub(super) fn still_serves(server: &mut Server, case: &str) {
    assert!(
        server.is_running(),
        "[{case}] the server died:\n{}",
        server.log()
    );
    let mut s = connect(server);
    let fh = mount_root(&mut s, 0x5e4e_0001);
    null_ok(&mut s, 0x5e4e_0002, case);
    getattr_ok(&mut s, &fh, 0x5e4e_0003, case);
}

/// A field from `/proc/<pid>/status`, in KiB.
pub(super) fn proc_status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("{field} missing from /proc/{pid}/status"))
}

/// A small deterministic generator, so a failing garbage case repeats.
pub(super) struct XorShift(u64);

impl XorShift {
    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }
}

mod errors;
mod framing;
