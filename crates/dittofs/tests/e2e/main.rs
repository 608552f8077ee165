//! End-to-end tests: the real `dittofs` binary, driven by real clients.

mod bench;
mod cli;
mod datapath;
mod fuse;
mod harness;
mod libnfs;
mod limits;
mod logging;
mod mount;
mod nfs3_procs;
mod observability;
mod persistence;
mod postgres;
mod s3_api;
mod s3_blocks;
mod s3_clients;
mod s3_safety;
mod s3_support;
mod s3_trees;
mod s3tests;
mod shares;
mod shutdown;
#[cfg(feature = "otlp")]
mod telemetry;
mod wire;

#[tokio::test]
async fn smoke_mount_and_getattr() {
    let server = harness::Server::start();
    let mut c = harness::mount(&server).await;
    let root = c.root_nfs_fh3();
    let r = c
        .getattr(&nfs3_types::nfs3::GETATTR3args { object: root })
        .await
        .expect("getattr");
    assert!(matches!(r, nfs3_types::nfs3::Nfs3Result::Ok(_)), "{r:?}");
}
