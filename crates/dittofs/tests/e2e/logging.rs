//! The log: a call that fails on the server's side (a store error, a
//! handle this server never signed) leaves one line naming the client, the
//! procedure and the handle; what clients expect to fail leaves none.

use nfs3_types::nfs3::{GETATTR3args, nfs_fh3, nfsstat3};
use serde_json::Value;

use crate::harness::{self, Server};
use crate::nfs3_procs::{create_file, fh_of, lookup_status, read_res, status_of, write};

fn hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

/// The JSON log lines whose message is `message`.
fn lines_saying(server: &Server, message: &str) -> Vec<Value> {
    server
        .log()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["fields"]["message"] == message)
        .collect()
}

fn handle_bytes(fh: &nfs_fh3) -> Vec<u8> {
    fh.data.as_ref().to_vec()
}

#[tokio::test]
async fn a_failed_call_logs_client_procedure_and_handle_once() {
    let mut server = Server::start_with(&[("DITTOFS_LOGGING_FORMAT", "json")]);
    let mut c = harness::mount(&server).await;
    let root = c.root_nfs_fh3();

    // Expected failures are not the operator's business.
    assert_eq!(
        lookup_status(&mut c, &root, b"missing").await,
        nfsstat3::NFS3ERR_NOENT
    );

    // A handle whose signature does not verify.
    let mut forged = handle_bytes(&root);
    *forged.last_mut().expect("a handle has bytes") ^= 0x55;
    let r = c
        .getattr(&GETATTR3args {
            object: fh_of(&forged),
        })
        .await
        .expect("GETATTR rpc");
    assert_eq!(status_of(&r), nfsstat3::NFS3ERR_BADHANDLE);

    // A file whose blocks vanished from the block store under the server.
    let (fh, _) = create_file(&mut c, &root, "doomed").await;
    // Past what a small file keeps inline in the metadata store.
    write(&mut c, &fh, 0, &[7u8; 64 * 1024]).await;
    drop(c);
    let status = server.terminate();
    assert!(status.success(), "exit: {status}");
    let blocks = server.data_path().join("blocks/default");
    let mut removed = 0;
    for dir in std::fs::read_dir(&blocks).expect("block dir").flatten() {
        for f in walk(&dir.path()) {
            std::fs::remove_file(f).expect("remove block");
            removed += 1;
        }
    }
    assert!(removed > 0, "stopping flushed the file into blocks");
    // The journal would bring the data back at start.
    std::fs::remove_dir_all(server.data_path().join("journal")).expect("remove journal");
    server.restart();
    let mut c = harness::mount(&server).await;
    let r = read_res(&mut c, &fh, 0, 8192).await;
    assert_eq!(status_of(&r), nfsstat3::NFS3ERR_IO);

    let bad = lines_saying(&server, "a file handle this server did not sign");
    assert_eq!(bad.len(), 1, "one line for the forged handle: {bad:?}");
    let f = &bad[0]["fields"];
    assert_eq!(bad[0]["level"], "WARN");
    assert_eq!(f["procedure"], "GETATTR");
    assert_eq!(f["handle"], hex(&forged));
    assert!(
        f["client"]
            .as_str()
            .is_some_and(|c| c.starts_with("127.0.0.1:")),
        "{f}"
    );

    let io = lines_saying(&server, "NFS request failed");
    assert_eq!(io.len(), 1, "one line for the failed READ: {io:?}");
    let f = &io[0]["fields"];
    assert_eq!(io[0]["level"], "ERROR");
    assert_eq!(f["procedure"], "READ");
    assert_eq!(f["handle"], hex(&handle_bytes(&fh)));
    assert!(
        f["error"]
            .as_str()
            .is_some_and(|e| e.contains("does not exist")),
        "the store's own words: {f}"
    );
    assert!(
        !server.log().contains("\"procedure\":\"LOOKUP\""),
        "a missing name is not logged"
    );
}

/// Every file under `dir`.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if dir.is_file() {
        out.push(dir.to_path_buf());
        return out;
    }
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        out.extend(walk(&e.path()));
    }
    out
}
