//! Several clients at once: every namespace change is one transaction, so
//! none is lost and racing creates agree.

use std::collections::BTreeSet;

use nfs3_types::nfs3::*;

use super::*;

const CLIENTS: usize = 8;

/// `CLIENTS` root connections.
async fn clients(server: &Server) -> Vec<Conn> {
    let mut v = Vec::new();
    for _ in 0..CLIENTS {
        v.push(harness::mount(server).await);
    }
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_mkdirs_and_links_lose_no_update() {
    let (server, mut c, root) = setup().await;
    let d = mkdir(&mut c, &root, "d").await;
    let (target, _) = create_file(&mut c, &root, "target").await;
    let mut tasks = Vec::new();
    for (i, mut conn) in clients(&server).await.into_iter().enumerate() {
        let (d, target) = (d.clone(), target.clone());
        tasks.push(tokio::spawn(async move {
            for j in 0..10 {
                mkdir(&mut conn, &d, &format!("dir-{i}-{j}")).await;
                let n = format!("link-{i}-{j}");
                ok(link_res(&mut conn, &target, &d, n.as_bytes()).await, "LINK");
            }
        }));
    }
    for t in tasks {
        t.await.expect("client task");
    }
    let made = 10 * CLIENTS as u32;
    assert_eq!(
        getattr(&mut c, &d).await.nlink,
        2 + made,
        "every MKDIR counted"
    );
    assert_eq!(
        getattr(&mut c, &target).await.nlink,
        1 + made,
        "every LINK counted"
    );
    assert_eq!(names(&mut c, &d).await.len(), 2 * made as usize);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_guarded_creates_have_one_winner() {
    let (server, mut c, root) = setup().await;
    let mut tasks = Vec::new();
    for mut conn in clients(&server).await {
        let root = root.clone();
        tasks.push(tokio::spawn(async move {
            let mut won = Vec::new();
            for round in 0..20 {
                let n = format!("race-{round}");
                let how = createhow3::GUARDED(sattr3::default());
                match create_res(&mut conn, &root, n.as_bytes(), how).await {
                    Nfs3Result::Ok(_) => won.push(round),
                    Nfs3Result::Err((nfsstat3::NFS3ERR_EXIST, _)) => {}
                    Nfs3Result::Err((s, _)) => panic!("CREATE GUARDED {n}: {s}"),
                }
            }
            won
        }));
    }
    let mut wins = Vec::new();
    for t in tasks {
        wins.extend(t.await.expect("client task"));
    }
    wins.sort();
    assert_eq!(
        wins,
        (0..20).collect::<Vec<_>>(),
        "each name created exactly once"
    );
    assert_eq!(names(&mut c, &root).await.len(), 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_exclusive_creates_with_one_verifier_agree() {
    let (server, mut c, root) = setup().await;
    let mut tasks = Vec::new();
    for mut conn in clients(&server).await {
        let root = root.clone();
        tasks.push(tokio::spawn(async move {
            let how = createhow3::EXCLUSIVE(createverf3(*b"samevrf!"));
            let r = ok(
                create_res(&mut conn, &root, b"once", how).await,
                "CREATE EXCLUSIVE",
            );
            handle(r.obj, "CREATE EXCLUSIVE")
        }));
    }
    let mut handles = BTreeSet::new();
    for t in tasks {
        handles.insert(t.await.expect("client task").data.to_vec());
    }
    assert_eq!(handles.len(), 1, "every retry got the one file");
    assert_eq!(names(&mut c, &root).await, ["once"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writes_to_disjoint_ranges_all_land() {
    let (server, mut c, root) = setup().await;
    let (fh, _) = create_file(&mut c, &root, "shared").await;
    const CHUNK: usize = 4096;
    const PER_CLIENT: usize = 16;
    let mut tasks = Vec::new();
    for (i, mut conn) in clients(&server).await.into_iter().enumerate() {
        let fh = fh.clone();
        tasks.push(tokio::spawn(async move {
            for j in 0..PER_CLIENT {
                // Interleave the clients' chunks across the file.
                let slot = j * CLIENTS + i;
                let data = vec![slot as u8; CHUNK];
                write(&mut conn, &fh, (slot * CHUNK) as u64, &data).await;
            }
        }));
    }
    for t in tasks {
        t.await.expect("client task");
    }
    let all = read_all(&mut c, &fh).await;
    assert_eq!(
        all.len(),
        CLIENTS * PER_CLIENT * CHUNK,
        "size covers every write"
    );
    for (slot, chunk) in all.chunks(CHUNK).enumerate() {
        assert!(
            chunk.iter().all(|&b| b == slot as u8),
            "chunk {slot} holds another write's bytes"
        );
    }
}

/// Two clients each move one directory into the other: whichever commits
/// second would make a cycle and must fail; the tree stays a tree.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn crossing_directory_moves_never_make_a_cycle() {
    let (server, mut c, root) = setup().await;
    for round in 0..25 {
        let top = mkdir(&mut c, &root, &format!("round-{round}")).await;
        let x = mkdir(&mut c, &top, "x").await;
        let y = mkdir(&mut c, &top, "y").await;
        let mut a = harness::mount(&server).await;
        let mut b = harness::mount(&server).await;
        let (t1, x1, y1) = (top.clone(), x.clone(), y.clone());
        let ta =
            tokio::spawn(async move { status_of(&rename_res(&mut a, &t1, "x", &y1, "x").await) });
        let tb =
            tokio::spawn(async move { status_of(&rename_res(&mut b, &top, "y", &x1, "y").await) });
        let (sa, sb) = (ta.await.expect("a"), tb.await.expect("b"));
        let oks = [sa, sb].iter().filter(|s| **s == nfsstat3::NFS3_OK).count();
        assert_eq!(
            oks, 1,
            "round {round}: exactly one move succeeds ({sa}, {sb})"
        );
        for s in [sa, sb] {
            assert!(
                matches!(s, nfsstat3::NFS3_OK | nfsstat3::NFS3ERR_INVAL),
                "round {round}: {s}"
            );
        }
        // Walking up from both ends reaches the root.
        for (what, start) in [("x", &x), ("y", &y)] {
            let mut at = start.clone();
            for depth in 0.. {
                assert!(depth < 10, "round {round}: {what} is in a cycle");
                let (up, _) = lookup(&mut c, &at, "..").await;
                if up == at {
                    break;
                }
                at = up;
            }
        }
    }
}
