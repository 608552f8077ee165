//! One ONC-RPC connection over TCP: record marking, xids, a credential,
//! one call in flight at a time, and a deadline on every call.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use dittofs_xdr::{
    CallHeader, OpaqueAuth, RPC_VERSION, RecordError, RecordReader, ReplyHeader, Xdr, XdrReader,
    XdrWriter, write_record,
};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

use crate::error::{ClientError, RpcDenial, describe_io};

/// Largest reply accepted: a 64 MiB READ plus headers, far above what any
/// server sends for the sizes the client asks for.
const MAX_REPLY: usize = (64 << 20) + (64 << 10);

/// Connects to `addr` within `timeout`.
pub(crate) async fn connect(
    addr: SocketAddr,
    service: &'static str,
    timeout: Duration,
) -> Result<TcpStream, ClientError> {
    let fail = |reason: String| ClientError::Connect {
        addr,
        service,
        reason,
    };
    let stream = tokio::time::timeout(timeout, TcpStream::connect(addr))
        .await
        .map_err(|_| fail(format!("no answer within {}s", timeout.as_secs_f64())))?
        .map_err(|e| fail(describe_io(&e)))?;
    // Calls are single records written at once; do not let Nagle hold the
    // tail of one back.
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

/// A connection to one RPC program and version.
pub(crate) struct RpcConnection {
    addr: SocketAddr,
    program_name: &'static str,
    prog: u32,
    vers: u32,
    cred: OpaqueAuth,
    writer: OwnedWriteHalf,
    reader: RecordReader<OwnedReadHalf>,
    next_xid: u32,
    timeout: Duration,
    broken: bool,
}

impl RpcConnection {
    pub(crate) async fn connect(
        addr: SocketAddr,
        program_name: &'static str,
        prog: u32,
        vers: u32,
        cred: OpaqueAuth,
        connect_timeout: Duration,
        call_timeout: Duration,
    ) -> Result<Self, ClientError> {
        let stream = connect(addr, program_name, connect_timeout).await?;
        let (rd, wr) = stream.into_split();
        Ok(Self {
            addr,
            program_name,
            prog,
            vers,
            cred,
            writer: wr,
            reader: RecordReader::new(rd, MAX_REPLY),
            next_xid: first_xid(),
            timeout: call_timeout,
            broken: false,
        })
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Calls procedure `proc_` with `args` and decodes the whole result as
    /// `R`. Any failure but a decoded result leaves the connection unusable.
    pub(crate) async fn call<A: Xdr, R: Xdr>(
        &mut self,
        proc_: u32,
        procedure: &'static str,
        args: &A,
    ) -> Result<R, ClientError> {
        if self.broken {
            return Err(ClientError::Broken { addr: self.addr });
        }
        self.broken = true;
        let xid = self.next_xid;
        self.next_xid = self.next_xid.wrapping_add(1);
        let mut w = XdrWriter::with_capacity(256);
        CallHeader {
            xid,
            rpcvers: RPC_VERSION,
            prog: self.prog,
            vers: self.vers,
            proc_,
            cred: self.cred.clone(),
            verf: OpaqueAuth::default(),
        }
        .encode(&mut w);
        args.encode(&mut w);
        let segments = w.into_segments();
        let (addr, program) = (self.addr, self.program_name);
        let io_error = |reason: String| ClientError::Io {
            addr,
            program,
            procedure,
            reason,
        };
        let (writer, reader) = (&mut self.writer, &mut self.reader);
        let exchange = async {
            write_record(writer, segments)
                .await
                .map_err(|e| io_error(describe_io(&e)))?;
            match reader.next().await {
                Ok(Some(record)) => Ok(record),
                Ok(None) => Err(io_error("connection closed by the server".into())),
                Err(RecordError::Io(e)) => Err(io_error(describe_io(&e))),
                Err(e) => Err(io_error(e.to_string())),
            }
        };
        let record = tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| ClientError::Timeout {
                addr,
                program,
                procedure,
                after: self.timeout,
            })??;
        let result = self.decode_reply(xid, procedure, record);
        // A whole record came back: the stream is in step again unless the
        // record was not the reply we waited for.
        self.broken = matches!(result, Err(ClientError::Malformed { .. }));
        result
    }

    fn decode_reply<R: Xdr>(
        &self,
        xid: u32,
        procedure: &'static str,
        record: Bytes,
    ) -> Result<R, ClientError> {
        let malformed = |detail: String| ClientError::Malformed {
            addr: self.addr,
            program: self.program_name,
            procedure,
            detail,
        };
        let mut r = XdrReader::new(record);
        let (reply_xid, header) =
            ReplyHeader::decode(&mut r).map_err(|e| malformed(e.to_string()))?;
        if reply_xid != xid {
            return Err(malformed(format!(
                "reply to xid {reply_xid:#x} while waiting for {xid:#x}"
            )));
        }
        if let Some(denial) = RpcDenial::from_header(&header) {
            return Err(ClientError::Rpc {
                addr: self.addr,
                program: self.program_name,
                procedure,
                denial,
            });
        }
        let result = R::decode(&mut r).map_err(|e| malformed(e.to_string()))?;
        r.finish().map_err(|e| malformed(e.to_string()))?;
        Ok(result)
    }
}

/// A starting xid that differs between connections and runs, so replies to
/// an earlier connection's calls are never mistaken for ours.
fn first_xid() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    (nanos ^ std::process::id().rotate_left(16)).wrapping_add(n.wrapping_mul(0x9e37_79b9))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use dittofs_xdr::{AcceptStat, decode_call_header};
    use tokio::io::AsyncReadExt;
    use tokio::net::TcpListener;

    const T: Duration = Duration::from_secs(5);

    async fn conn(addr: SocketAddr, call_timeout: Duration) -> RpcConnection {
        RpcConnection::connect(
            addr,
            "NFS",
            100003,
            3,
            OpaqueAuth::default(),
            T,
            call_timeout,
        )
        .await
        .unwrap()
    }

    /// A server on one connection that answers each call with the reply
    /// `reply(xid, &mut writer)` writes, or, when it returns false, holds
    /// the connection open without answering.
    pub(crate) async fn serve_fake(
        mut reply: impl FnMut(u32, &mut XdrWriter) -> bool + Send + 'static,
    ) -> SocketAddr {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move {
            let (s, _) = l.accept().await.unwrap();
            let (rd, mut wr) = s.into_split();
            let mut records = RecordReader::new(rd, 1 << 20);
            while let Ok(Some(rec)) = records.next().await {
                let call = decode_call_header(&mut XdrReader::new(rec)).unwrap();
                let mut w = XdrWriter::new();
                if reply(call.xid, &mut w) {
                    write_record(&mut wr, w.into_segments()).await.unwrap();
                } else {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                }
            }
        });
        addr
    }

    /// A server that answers each call with the header `reply(xid)` gives.
    async fn fake(reply: fn(u32) -> Option<ReplyHeader>) -> SocketAddr {
        serve_fake(move |xid, w| match reply(xid) {
            Some(h) => {
                h.encode(xid, w);
                true
            }
            None => false,
        })
        .await
    }

    #[tokio::test]
    async fn a_refused_connection_names_the_address() {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        drop(l);
        let e = RpcConnection::connect(addr, "MOUNT", 100005, 3, OpaqueAuth::default(), T, T)
            .await
            .err()
            .unwrap();
        assert_eq!(
            e.to_string(),
            format!("cannot connect to {addr} (MOUNT): connection refused")
        );
    }

    #[tokio::test]
    async fn denials_are_errors_and_the_connection_stays_usable() {
        let addr = fake(|_| Some(ReplyHeader::accepted(AcceptStat::ProgUnavail))).await;
        let mut c = conn(addr, T).await;
        for _ in 0..2 {
            let e = c.call::<_, ()>(0, "NULL", &()).await.err().unwrap();
            assert!(
                matches!(
                    e,
                    ClientError::Rpc {
                        denial: RpcDenial::ProgUnavail,
                        ..
                    }
                ),
                "{e}"
            );
        }
    }

    #[tokio::test]
    async fn a_silent_server_times_out_and_breaks_the_connection() {
        let addr = fake(|_| None).await;
        let mut c = conn(addr, Duration::from_millis(100)).await;
        let e = c.call::<_, ()>(0, "NULL", &()).await.err().unwrap();
        assert!(matches!(e, ClientError::Timeout { .. }), "{e}");
        assert!(e.to_string().contains("no reply within 0.1s"), "{e}");
        let e = c.call::<_, ()>(0, "NULL", &()).await.err().unwrap();
        assert!(matches!(e, ClientError::Broken { .. }), "{e}");
    }

    #[tokio::test]
    async fn a_reply_with_trailing_bytes_is_malformed() {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut s, _) = l.accept().await.unwrap();
            let mut buf = [0u8; 4096];
            let n = s.read(&mut buf).await.unwrap();
            assert!(n > 8);
            let xid = u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]);
            let mut w = XdrWriter::new();
            ReplyHeader::success().encode(xid, &mut w);
            w.u32(7);
            write_record(&mut s, w.into_segments()).await.unwrap();
            tokio::time::sleep(Duration::from_secs(5)).await;
        });
        let mut c = conn(addr, T).await;
        let e = c.call::<_, ()>(0, "NULL", &()).await.err().unwrap();
        assert!(e.to_string().contains("malformed reply"), "{e}");
    }
}
