//! RPC-level errors: programs, versions, procedures, arguments, credentials.

use super::*;

#[test]
fn wire_program_version_and_procedure_errors() {
    let mut server = Server::start();
    let mut s = connect(&server);

    let case = "unknown program 200000";
    send(&mut s, &record(&call(10, 200_000, 1, 0, &[])), case);
    expect_accepted(&mut s, 10, AcceptStat::ProgUnavail, case);

    let mismatch = |low, high| AcceptStat::ProgMismatch { low, high };
    for (xid, prog, vers, want, case) in [
        (20, NFS, 2, mismatch(3, 3), "NFS version 2"),
        (21, NFS, 4, mismatch(3, 3), "NFS version 4"),
        (22, MOUNT, 1, mismatch(3, 3), "MOUNT version 1"),
        (23, MOUNT, 2, mismatch(3, 3), "MOUNT version 2"),
        (24, PORTMAP, 4, mismatch(2, 2), "portmapper version 4"),
    ] {
        send(&mut s, &record(&call(xid, prog, vers, 0, &[])), case);
        let r = expect_accepted(&mut s, xid, want, case);
        assert_eq!(r.remaining(), 0, "[{case}] bytes after PROG_MISMATCH");
    }

    for (xid, rpcvers) in [(30, 1), (31, 3), (32, 0xffff_ffff)] {
        let case = format!("rpcvers {rpcvers}");
        let h = CallHeader {
            rpcvers,
            ..header(xid, NFS, 3, NFS_NULL)
        };
        send(&mut s, &record(&call_msg(&h, &[])), &case);
        expect_denied(
            &mut s,
            xid,
            RejectedReply::RpcMismatch { low: 2, high: 2 },
            &case,
        );
    }
    // What follows rpcvers depends on the version, so a call of another
    // version is refused as such whatever comes after it (RFC 5531 §9).
    for (xid, rest, case) in [
        (33, vec![], "rpcvers 3 and nothing after it"),
        (34, vec![0xff; 6], "rpcvers 3 followed by junk"),
        (
            35,
            xdr(|w| {
                for v in [NFS, 3, NFS_NULL, 99, 500] {
                    w.u32(v);
                }
            }),
            "rpcvers 3 with what would be a bad credential",
        ),
    ] {
        let mut msg = xdr(|w| {
            w.u32(xid);
            w.u32(0);
            w.u32(3);
        });
        msg.extend(rest);
        send(&mut s, &record(&msg), case);
        expect_denied(
            &mut s,
            xid,
            RejectedReply::RpcMismatch { low: 2, high: 2 },
            case,
        );
    }

    for (xid, prog, vers, proc_, case) in [
        (40, NFS, 3, 22, "NFS procedure 22"),
        (41, NFS, 3, 0xffff_ffff, "NFS procedure 2^32-1"),
        (42, MOUNT, 3, 6, "MOUNT procedure 6"),
        (43, PORTMAP, 2, 6, "portmapper procedure 6"),
    ] {
        send(&mut s, &record(&call(xid, prog, vers, proc_, &[])), case);
        expect_accepted(&mut s, xid, AcceptStat::ProcUnavail, case);
    }

    // The connection survived every error.
    null_ok(&mut s, 50, "after program errors");
    still_serves(&mut server, "after program errors");
}

#[test]
fn wire_garbage_arguments() {
    let mut server = Server::start();
    let mut s = connect(&server);
    let fh = mount_root(&mut s, 1);

    let cases: Vec<(u32, u32, Vec<u8>, &str)> = vec![
        (10, NFS_GETATTR, vec![0, 0, 0], "GETATTR with a 3-byte body"),
        (11, NFS_GETATTR, vec![], "GETATTR with no body"),
        (
            12,
            NFS_GETATTR,
            xdr(|w| w.opaque(&[0u8; 65])),
            "GETATTR with a 65-byte file handle",
        ),
        (
            13,
            NFS_GETATTR,
            xdr(|w| {
                w.u32(64);
                w.fixed(&[0; 10]);
            }),
            "GETATTR with a handle longer than the record",
        ),
        (
            14,
            NFS_SETATTR,
            xdr(|w| {
                w.opaque(&fh);
                for _ in 0..6 {
                    w.u32(0); // sattr3: change nothing
                }
                w.u32(7); // sattrguard3.check: a bool of 7
            }),
            "SETATTR with a guard bool of 7",
        ),
        (
            15,
            NFS_SETATTR,
            xdr(|w| {
                w.opaque(&fh);
                w.u32(2); // set_mode3 discriminant: a bool of 2
            }),
            "SETATTR with a set_mode bool of 2",
        ),
        (
            16,
            NFS_WRITE,
            xdr(|w| {
                w.opaque(&fh);
                w.u64(0);
                w.u32(4);
                w.u32(9); // stable_how 9
                w.opaque(b"data");
            }),
            "WRITE with stable_how 9",
        ),
    ];
    for (xid, proc_, args, case) in cases {
        send(&mut s, &record(&call(xid, NFS, 3, proc_, &args)), case);
        let r = expect_accepted(&mut s, xid, AcceptStat::GarbageArgs, case);
        assert_eq!(r.remaining(), 0, "[{case}] bytes after GARBAGE_ARGS");
    }

    let case = "MNT with a 2^32-1 byte path";
    send(
        &mut s,
        &record(&call(20, MOUNT, 3, MOUNT_MNT, &xdr(|w| w.u32(u32::MAX)))),
        case,
    );
    expect_accepted(&mut s, 20, AcceptStat::GarbageArgs, case);

    null_ok(&mut s, 30, "after garbage arguments");
    getattr_ok(&mut s, &fh, 31, "after garbage arguments");
    still_serves(&mut server, "after garbage arguments");
}

#[test]
fn wire_bad_credentials_and_verifiers() {
    let mut server = Server::start();
    let mut s = connect(&server);
    let bad_cred = RejectedReply::AuthError(AuthStat::BadCred);
    let bad_verf = RejectedReply::AuthError(AuthStat::BadVerf);

    let sys = |gids: Vec<u32>, name: &[u8]| AuthSys {
        machine_name: Bytes::copy_from_slice(name),
        gids,
        ..AuthSys::default()
    };
    let full = sys(vec![1, 2, 3], b"host").encode();
    let creds: Vec<(OpaqueAuth, &str)> = vec![
        (
            OpaqueAuth {
                flavor: 1,
                body: full.slice(..full.len() - 4),
            },
            "AUTH_SYS body truncated (one gid missing)",
        ),
        (
            OpaqueAuth {
                flavor: 1,
                body: full.slice(..8),
            },
            "AUTH_SYS body of 8 bytes",
        ),
        (
            OpaqueAuth {
                flavor: 1,
                body: Bytes::new(),
            },
            "AUTH_SYS with an empty body",
        ),
        (
            OpaqueAuth {
                flavor: 1,
                body: sys((0..17).collect(), b"host").encode(),
            },
            "AUTH_SYS with 17 gids",
        ),
        (
            OpaqueAuth {
                flavor: 1,
                body: sys(vec![], &[b'h'; 256]).encode(),
            },
            "AUTH_SYS with a 256-byte machine name",
        ),
        (
            OpaqueAuth {
                flavor: 1,
                body: {
                    let mut b = full.to_vec();
                    b.extend_from_slice(&[0; 4]);
                    Bytes::from(b)
                },
            },
            "AUTH_SYS with trailing bytes",
        ),
        (
            OpaqueAuth {
                flavor: 99,
                body: Bytes::new(),
            },
            "unknown flavor 99",
        ),
        (
            OpaqueAuth {
                flavor: 6, // RPCSEC_GSS, not offered
                body: Bytes::from_static(&[0; 8]),
            },
            "RPCSEC_GSS flavor",
        ),
    ];
    let mut xid = 100;
    for (cred, case) in creds {
        xid += 1;
        let h = CallHeader {
            cred,
            ..header(xid, NFS, 3, NFS_NULL)
        };
        send(&mut s, &record(&call_msg(&h, &[])), case);
        expect_denied(&mut s, xid, bad_cred, case);
    }

    // Credentials whose length field is out of bounds, written by hand.
    let raw_cred = |xid: u32, len: u32, have: usize| {
        xdr(|w| {
            for v in [xid, 0, 2, NFS, 3, NFS_NULL, 1, len] {
                w.u32(v);
            }
            w.fixed(&vec![0; have]);
            w.u32(0); // verifier AUTH_NONE
            w.u32(0);
        })
    };
    for (len, have, case) in [
        (404, 404, "credential of 404 bytes (over 400)"),
        (0xffff_fffc, 16, "credential claiming 4 GiB"),
        (200, 16, "credential longer than the record"),
    ] {
        xid += 1;
        send(&mut s, &record(&raw_cred(xid, len, have)), case);
        expect_denied(&mut s, xid, bad_cred, case);
    }

    // Malformed verifiers.
    let raw_verf = |xid: u32, len: u32, have: usize| {
        let mut w = XdrWriter::new();
        for v in [xid, 0, 2, NFS, 3, NFS_NULL] {
            w.u32(v);
        }
        OpaqueAuth::default().encode(&mut w);
        w.u32(0);
        w.u32(len);
        w.fixed(&vec![0; have]);
        w.into_bytes().to_vec()
    };
    for (len, have, case) in [
        (404, 404, "verifier of 404 bytes (over 400)"),
        (0xffff_fffc, 0, "verifier claiming 4 GiB"),
        (64, 8, "verifier longer than the record"),
    ] {
        xid += 1;
        send(&mut s, &record(&raw_verf(xid, len, have)), case);
        expect_denied(&mut s, xid, bad_verf, case);
    }
    // A call that ends before its verifier's length.
    xid += 1;
    let mut cut = call(xid, NFS, 3, NFS_NULL, &[]);
    cut.truncate(cut.len() - 4);
    send(&mut s, &record(&cut), "verifier without a length");
    expect_denied(&mut s, xid, bad_verf, "verifier without a length");

    // Good credentials still work on the same connection, AUTH_NONE too.
    null_ok(&mut s, 500, "AUTH_SYS after bad credentials");
    let h = CallHeader {
        cred: OpaqueAuth::default(),
        ..header(501, NFS, 3, NFS_NULL)
    };
    send(&mut s, &record(&call_msg(&h, &[])), "AUTH_NONE");
    expect_accepted(&mut s, 501, AcceptStat::Success, "AUTH_NONE");
    still_serves(&mut server, "after bad credentials");
}

#[test]
fn wire_write_count_larger_than_data_is_inval() {
    let mut server = Server::start();
    let mut s = connect(&server);
    let root = mount_root(&mut s, 1);

    // CREATE UNCHECKED "w.bin" with no attributes set.
    let args = xdr(|w| {
        w.opaque(&root);
        w.opaque(b"w.bin");
        w.u32(0); // UNCHECKED
        for _ in 0..6 {
            w.u32(0);
        }
    });
    send(
        &mut s,
        &record(&call(2, NFS, 3, NFS_CREATE, &args)),
        "CREATE w.bin",
    );
    let mut r = expect_accepted(&mut s, 2, AcceptStat::Success, "CREATE w.bin");
    assert_eq!(r.u32().unwrap(), NFS3_OK, "CREATE w.bin status");
    assert!(r.bool().unwrap(), "CREATE w.bin returned no handle");
    let fh = r.opaque(64).unwrap().to_vec();

    let write = |xid: u32, count: u32, data: &[u8]| {
        record(&call(
            xid,
            NFS,
            3,
            NFS_WRITE,
            &xdr(|w| {
                w.opaque(&fh);
                w.u64(0);
                w.u32(count);
                w.u32(2); // FILE_SYNC
                w.opaque(data);
            }),
        ))
    };
    for (xid, count, len) in [(3, 100, 10), (4, 11, 10), (5, u32::MAX, 10), (6, 1, 0)] {
        let case = format!("WRITE count {count} with {len} bytes");
        send(&mut s, &write(xid, count, &vec![b'x'; len]), &case);
        let mut r = expect_accepted(&mut s, xid, AcceptStat::Success, &case);
        assert_eq!(r.u32().unwrap(), NFS3ERR_INVAL, "[{case}] status");
    }
    // The same connection still writes normally, and nothing was written.
    let case = "WRITE count 10 with 10 bytes";
    send(&mut s, &write(7, 10, b"0123456789"), case);
    let mut r = expect_accepted(&mut s, 7, AcceptStat::Success, case);
    assert_eq!(r.u32().unwrap(), NFS3_OK, "[{case}] status");
    // wcc_data: pre_op_attr (bool + 24 bytes), post_op_attr (bool + fattr3).
    if r.bool().unwrap() {
        r.u64().unwrap();
        r.u64().unwrap();
        r.u64().unwrap();
    }
    assert!(r.bool().unwrap(), "[{case}] no post-op attributes");
    let _ftype = r.u32().unwrap();
    for _ in 0..4 {
        r.u32().unwrap();
    }
    assert_eq!(r.u64().unwrap(), 10, "[{case}] file size after the write");
    still_serves(&mut server, "after WRITE count checks");
}
