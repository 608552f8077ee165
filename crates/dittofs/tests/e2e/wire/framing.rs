//! Records: sizes, fragments, truncation, pipelining and garbage.

use super::*;

#[test]
fn wire_huge_record_header_closes_without_allocating() {
    let mut server = Server::start();
    let pid = server.pid();
    let mut other = connect(&server);
    let fh = mount_root(&mut other, 1);
    null_ok(&mut other, 2, "other client before");

    let rss_before = proc_status_kib(pid, "VmRSS");
    let hwm_before = proc_status_kib(pid, "VmHWM");
    let size_before = proc_status_kib(pid, "VmSize");

    // Last fragment, 0x7fff_ffff bytes announced; then as much data as the
    // server is willing to take (it should take none of it).
    let mut attacker = connect(&server);
    send(&mut attacker, &0xffff_ffffu32.to_be_bytes(), "huge header");
    let feeder = std::thread::spawn(move || {
        let chunk = vec![0x5au8; 1 << 20];
        let mut total = 0;
        for _ in 0..128 {
            let n = send_lossy(&mut attacker, &chunk);
            total += n;
            if n < chunk.len() {
                break;
            }
        }
        (attacker, total)
    });
    // Meanwhile the other client is served.
    for i in 0..20 {
        null_ok(&mut other, 100 + i, "other client during the huge header");
        getattr_ok(
            &mut other,
            &fh,
            200 + i,
            "other client during the huge header",
        );
    }
    let (mut attacker, fed) = feeder.join().expect("feeder thread");
    let closed = outcome(&mut attacker, TIMEOUT);

    std::thread::sleep(Duration::from_millis(200));
    let rss_after = proc_status_kib(pid, "VmRSS");
    let hwm_after = proc_status_kib(pid, "VmHWM");
    let peak_after = proc_status_kib(pid, "VmPeak");
    println!(
        "huge header: fed {fed} bytes before the close; VmRSS {rss_before} -> {rss_after} KiB, \
         VmHWM {hwm_before} -> {hwm_after} KiB, VmSize {size_before} KiB -> VmPeak {peak_after} KiB"
    );
    let limit_kib = 64 * 1024;
    assert!(
        rss_after < rss_before + limit_kib && hwm_after < rss_before + limit_kib,
        "huge header: server memory grew too much after taking {fed} bytes: \
         VmRSS {rss_before} -> {rss_after} KiB, VmHWM {hwm_before} -> {hwm_after} KiB"
    );
    // Address space is the tell of a reservation even before it is touched.
    assert!(
        peak_after < size_before + 0x7fff_ffff / 1024,
        "huge header: the server reserved address space for the announced record: \
         VmSize {size_before} KiB -> VmPeak {peak_after} KiB"
    );
    assert!(
        matches!(closed, Outcome::Closed),
        "huge header (0xffff_ffff): connection should have been closed, got {closed:?} \
         after the server took {fed} bytes"
    );

    null_ok(&mut other, 300, "other client after the huge header");
    getattr_ok(&mut other, &fh, 301, "other client after the huge header");
    still_serves(&mut server, "after the huge header");

    // A non-last fragment announcing 2 GiB - 1 is refused the same way.
    let mut attacker = connect(&server);
    send(
        &mut attacker,
        &0x7fff_ffffu32.to_be_bytes(),
        "huge non-last fragment",
    );
    expect_closed(&mut attacker, "huge non-last fragment (0x7fff_ffff)");
    still_serves(&mut server, "after the huge non-last fragment");
}

#[test]
fn wire_fragments_over_the_cap_close_the_connection() {
    let mut server = Server::start();
    let pid = server.pid();
    let rss_before = proc_status_kib(pid, "VmRSS");

    // Three non-last fragments of 512 KiB: the third takes the record past
    // the cap before the last fragment is ever seen.
    let mut s = connect(&server);
    let frag = vec![0u8; 512 << 10];
    let mut stream = Vec::new();
    for _ in 0..3 {
        stream.extend_from_slice(&(frag.len() as u32).to_be_bytes());
        stream.extend_from_slice(&frag);
    }
    stream.extend_from_slice(&(4u32 | LAST).to_be_bytes());
    stream.extend_from_slice(&[0; 4]);
    send_lossy(&mut s, &stream);
    expect_closed(&mut s, "fragments adding up past the cap");

    // Just over the cap with a valid call at the front: still refused.
    let mut s = connect(&server);
    let mut body = call(7, NFS, 3, NFS_NULL, &[]);
    body.resize(MAX_RECORD + 1, 0);
    let half = body.len() / 2;
    send_lossy(&mut s, &fragmented(&body, &[half]));
    expect_closed(&mut s, "two fragments of cap + 1 bytes");

    // Exactly at the cap is allowed (trailing bytes after NULL's empty
    // arguments are tolerated).
    let mut s = connect(&server);
    let mut body = call(8, NFS, 3, NFS_NULL, &[]);
    body.resize(MAX_RECORD, 0);
    let third = body.len() / 3;
    send(
        &mut s,
        &fragmented(&body, &[third, 2 * third]),
        "record of exactly the cap",
    );
    expect_accepted(&mut s, 8, AcceptStat::Success, "record of exactly the cap");

    let rss_after = proc_status_kib(pid, "VmRSS");
    println!("fragments over the cap: VmRSS {rss_before} -> {rss_after} KiB");
    assert!(
        rss_after < rss_before + 64 * 1024,
        "fragments over the cap: VmRSS {rss_before} -> {rss_after} KiB"
    );
    still_serves(&mut server, "after fragments over the cap");
}

#[test]
fn wire_valid_multi_fragment_call_is_answered() {
    let mut server = Server::start();
    let mut s = connect(&server);
    let fh = mount_root(&mut s, 1);
    let body = call(2, NFS, 3, NFS_GETATTR, &getattr_args(&fh));
    // Cuts inside a word and inside the file handle.
    let cuts = [5, body.len() - 7];
    send(&mut s, &fragmented(&body, &cuts), "3-fragment GETATTR");
    let mut r = expect_accepted(&mut s, 2, AcceptStat::Success, "3-fragment GETATTR");
    assert_eq!(r.u32().unwrap(), NFS3_OK, "3-fragment GETATTR status");

    // Empty fragments in the middle are legal too.
    let body = call(3, NFS, 3, NFS_NULL, &[]);
    let mut bytes = fragmented(&body[..8], &[]);
    bytes[0] &= 0x7f; // not last
    bytes.extend_from_slice(&0u32.to_be_bytes());
    bytes.extend_from_slice(&fragmented(&body[8..], &[]));
    send(&mut s, &bytes, "fragments with an empty one");
    expect_accepted(
        &mut s,
        3,
        AcceptStat::Success,
        "fragments with an empty one",
    );
    still_serves(&mut server, "after multi-fragment calls");
}

#[test]
fn wire_truncated_calls_do_no_harm() {
    let mut server = Server::start();
    let mut other = connect(&server);
    let fh = mount_root(&mut other, 1);

    // Half a record mark, connection left open.
    let mut a = connect(&server);
    send(&mut a, &[0x80, 0x00], "half a record mark");
    // A record mark for 40 bytes with only 20 sent, left open.
    let mut b = connect(&server);
    let msg = call(0x77, NFS, 3, NFS_NULL, &[]);
    let mut bytes = record(&msg);
    bytes.truncate(4 + 20);
    send(&mut b, &bytes, "call cut mid-header, open");
    // The same, then half-closed: the server sees EOF inside the record.
    let mut c = connect(&server);
    send(&mut c, &bytes, "call cut mid-header, half-closed");
    c.shutdown(Shutdown::Write).expect("shutdown");

    null_ok(&mut other, 2, "other client beside truncated calls");
    getattr_ok(&mut other, &fh, 3, "other client beside truncated calls");
    expect_closed(&mut c, "call cut mid-header, half-closed");
    assert!(
        matches!(outcome(&mut a, Duration::from_millis(300)), Outcome::Silent),
        "half a record mark: the server should wait for the rest"
    );
    assert!(
        matches!(outcome(&mut b, Duration::from_millis(300)), Outcome::Silent),
        "call cut mid-header: the server should wait for the rest"
    );
    // Half-close the open ones too: EOF mid-record closes them.
    a.shutdown(Shutdown::Write).expect("shutdown");
    b.shutdown(Shutdown::Write).expect("shutdown");
    expect_closed(&mut a, "half a record mark, then half-closed");
    expect_closed(&mut b, "call cut mid-header, then half-closed");

    // A complete record holding a call header cut short after the message
    // type: no program to blame, so GARBAGE_ARGS or a close.
    let mut d = connect(&server);
    send(&mut d, &record(&msg[..8]), "record with a cut header");
    match outcome(&mut d, TIMEOUT) {
        Outcome::Closed => {}
        Outcome::Reply(xid, ReplyHeader::Accepted { stat, .. }) => {
            assert_eq!(xid, 0x77, "record with a cut header: wrong xid");
            assert_eq!(stat, AcceptStat::GarbageArgs, "record with a cut header");
        }
        o => panic!("record with a cut header: {o:?}"),
    }
    // A record of two bytes has no xid to answer to: dropped or closed.
    let mut e = connect(&server);
    send(&mut e, &record(&[1, 2]), "record of two bytes");
    match outcome(&mut e, Duration::from_millis(500)) {
        Outcome::Closed => {}
        Outcome::Silent => null_ok(&mut e, 9, "after a record of two bytes"),
        o => panic!("record of two bytes: {o:?}"),
    }

    null_ok(&mut other, 4, "other client after truncated calls");
    still_serves(&mut server, "after truncated calls");
}

#[test]
fn wire_reply_sent_to_the_server_is_ignored() {
    let mut server = Server::start();
    let mut s = connect(&server);
    // A well-formed accepted SUCCESS reply, as if we were the server.
    let mut w = XdrWriter::new();
    ReplyHeader::success().encode(0xdead, &mut w);
    send(&mut s, &record(&w.into_bytes()), "REPLY to the server");
    // A REPLY-typed message with junk after the type.
    send(
        &mut s,
        &record(&xdr(|w| {
            w.u32(0xbeef);
            w.u32(1);
            w.u32(0x1234_5678);
        })),
        "junk REPLY to the server",
    );
    // Message type 2 is neither call nor reply.
    send(
        &mut s,
        &record(&xdr(|w| {
            w.u32(0xbef0);
            w.u32(2);
        })),
        "message type 2",
    );
    // The next reply on the connection is the NULL's, not anything else.
    null_ok(&mut s, 0xcafe, "NULL after a REPLY message");
    assert!(
        matches!(outcome(&mut s, Duration::from_millis(300)), Outcome::Silent),
        "REPLY to the server: it answered something extra"
    );
    still_serves(&mut server, "after REPLY messages");
}

#[test]
fn wire_pipelined_calls_get_one_reply_each() {
    const CALLS: u32 = 200;
    let mut server = Server::start();
    let mut s = connect(&server);
    let fh = mount_root(&mut s, 1);
    let mut batch = Vec::new();
    for i in 0..CALLS {
        let xid = 0x1000 + i * 7;
        let msg = if i % 2 == 0 {
            call(xid, NFS, 3, NFS_NULL, &[])
        } else {
            call(xid, NFS, 3, NFS_GETATTR, &getattr_args(&fh))
        };
        batch.extend(record(&msg));
    }
    send(&mut s, &batch, "200 pipelined calls");
    let mut seen: HashMap<u32, usize> = HashMap::new();
    for n in 0..CALLS {
        let (xid, h, mut r) = read_reply(&mut s, &format!("pipelined reply {n} of {CALLS}"));
        assert_eq!(h, ReplyHeader::success(), "pipelined call {xid:#x}: {h:?}");
        assert!(
            xid >= 0x1000 && (xid - 0x1000) % 7 == 0 && (xid - 0x1000) / 7 < CALLS,
            "pipelined: reply to unknown xid {xid:#x}"
        );
        let i = (xid - 0x1000) / 7;
        if i % 2 == 1 {
            assert_eq!(r.u32().unwrap(), NFS3_OK, "pipelined GETATTR {xid:#x}");
        } else {
            assert_eq!(r.remaining(), 0, "pipelined NULL {xid:#x} has a body");
        }
        *seen.entry(xid).or_default() += 1;
    }
    let dup: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(dup.is_empty(), "pipelined: xids answered twice: {dup:?}");
    assert_eq!(seen.len(), CALLS as usize, "pipelined: replies missing");
    assert!(
        matches!(outcome(&mut s, Duration::from_millis(300)), Outcome::Silent),
        "pipelined: more replies than calls"
    );

    // Calls followed at once by a half-close still all get their replies,
    // then the server closes its side.
    let mut s = connect(&server);
    let mut batch = Vec::new();
    for xid in 0..50 {
        batch.extend(record(&call(
            0x9000 + xid,
            NFS,
            3,
            NFS_GETATTR,
            &getattr_args(&fh),
        )));
    }
    send(&mut s, &batch, "pipelined then half-closed");
    s.shutdown(Shutdown::Write).expect("shutdown");
    let mut xids: Vec<u32> = (0..50)
        .map(|n| read_reply(&mut s, &format!("pipelined then half-closed, reply {n}")).0)
        .collect();
    xids.sort_unstable();
    assert_eq!(
        xids,
        (0x9000..0x9000 + 50).collect::<Vec<_>>(),
        "pipelined then half-closed: wrong set of replies"
    );
    expect_closed(&mut s, "pipelined then half-closed, after the replies");
    still_serves(&mut server, "after pipelining");
}

#[test]
fn wire_random_garbage_never_crashes_the_server() {
    let mut server = Server::start();
    let mut other = connect(&server);
    let fh = mount_root(&mut other, 1);
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);

    for round in 0..40u32 {
        let len = 4 + (rng.next_u64() % 2000) as usize;
        let mut s = connect(&server);
        let case = format!("garbage round {round}");
        match round % 4 {
            // A valid record mark, then random bytes. The second word is
            // almost never 0 (CALL), and a message that is not a call is
            // dropped like a REPLY; then the connection must still work.
            0 => {
                send_lossy(&mut s, &record(&rng.bytes(len)));
                match outcome(&mut s, Duration::from_millis(300)) {
                    Outcome::Closed => {}
                    Outcome::Silent => null_ok(&mut s, 0x5000 + round, &case),
                    Outcome::Reply(_, h) => assert_ne!(h, ReplyHeader::success(), "[{case}]"),
                }
            }
            // A valid NFS call header, then random arguments.
            1 => {
                let proc_ = 1 + (rng.next_u64() % 21) as u32;
                let xid = 0x6000 + round;
                send(
                    &mut s,
                    &record(&call(xid, NFS, 3, proc_, &rng.bytes(len))),
                    &case,
                );
                match outcome(&mut s, TIMEOUT) {
                    Outcome::Closed => {}
                    Outcome::Reply(got, h) => {
                        assert_eq!(got, xid, "[{case}] wrong xid");
                        // Either the arguments did not decode, or they did
                        // and the procedure failed on the random handle.
                        assert!(
                            matches!(
                                h,
                                ReplyHeader::Accepted {
                                    stat: AcceptStat::GarbageArgs | AcceptStat::Success,
                                    ..
                                }
                            ),
                            "[{case}] procedure {proc_}: {h:?}"
                        );
                    }
                    Outcome::Silent => panic!("[{case}] no reply and no close"),
                }
            }
            // Random bytes from the first byte, record mark included, then EOF.
            2 => {
                send_lossy(&mut s, &rng.bytes(len));
                let _ = s.shutdown(Shutdown::Write);
                match outcome(&mut s, TIMEOUT) {
                    Outcome::Closed => {}
                    Outcome::Reply(_, h) => assert_ne!(h, ReplyHeader::success(), "[{case}]"),
                    Outcome::Silent => panic!("[{case}] connection not closed after EOF"),
                }
            }
            // A valid call header, then a random tail that claims more.
            _ => {
                let xid = 0x7000 + round;
                let mut msg = call(xid, NFS, 3, NFS_WRITE, &xdr(|w| w.opaque(&fh)));
                msg.extend(rng.bytes(len));
                send(&mut s, &record(&msg), &case);
                match outcome(&mut s, TIMEOUT) {
                    Outcome::Closed => {}
                    Outcome::Reply(got, h) => {
                        assert_eq!(got, xid, "[{case}] wrong xid");
                        assert!(
                            matches!(h, ReplyHeader::Accepted { .. }),
                            "[{case}] WRITE with random arguments: {h:?}"
                        );
                    }
                    Outcome::Silent => panic!("[{case}] no reply and no close"),
                }
            }
        }
        null_ok(
            &mut other,
            100 + round,
            &format!("other client after {case}"),
        );
    }
    getattr_ok(&mut other, &fh, 999, "other client after garbage");
    still_serves(&mut server, "after random garbage");
}
