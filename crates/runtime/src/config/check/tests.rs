use super::*;
use crate::config::parse_yaml;

fn problem(yaml: &str) -> Option<Problem> {
    check(&parse_yaml(yaml, "c.yaml").expect("parses")).err()
}

#[test]
fn s3_payload_stores_need_a_bucket_and_a_url() {
    let store = |s3: &str| {
        format!("payload:\n  stores:\n    default:\n      type: s3\n      s3: {{ {s3} }}\n")
    };
    assert_eq!(
        problem(&store("bucket: b, endpoint: \"http://h:9000\"")),
        None
    );
    assert_eq!(problem(&store("bucket: b")), None, "AWS itself");
    let (key, _) = problem(&store("endpoint: \"http://h\"")).expect("no bucket");
    assert_eq!(key, "payload.stores.default.s3.bucket");
    let (key, _) = problem(&store("bucket: b, endpoint: \"h:9000\"")).expect("no scheme");
    assert_eq!(key, "payload.stores.default.s3.endpoint");
    let (key, _) = problem(&store("bucket: b, access_key: k")).expect("half a key");
    assert_eq!(key, "payload.stores.default.s3.secret_key");
    let (key, _) =
        problem("payload:\n  stores:\n    default:\n      type: fs\n      s3: { bucket: b }\n")
            .expect("s3 settings on fs");
    assert_eq!(key, "payload.stores.default.s3");
    assert!(valid_bucket_name("foo.-bar") && !valid_bucket_name("foo-.bar"));
}

#[test]
fn postgres_stores_are_checked() {
    let store = |pg: &str| {
        format!(
            "metadata:\n  stores:\n    default:\n      type: postgres\n      postgres: {{ {pg} }}\n"
        )
    };
    assert_eq!(problem(&store("dsn: \"host=db dbname=x\"")), None);
    assert_eq!(problem(&store("host: db, schema: ns_2")), None);
    assert_eq!(problem(&store("sslmode: verify-full")), None);
    let (key, why) = problem(&store("sslmode: allow")).expect("not a mode we offer");
    assert_eq!(key, "metadata.stores.default.postgres.sslmode");
    assert!(why.contains("verify-full"), "{why}");
    let (key, _) = problem(&store("schema: \"Bad-Name\"")).expect("schema name");
    assert_eq!(key, "metadata.stores.default.postgres.schema");
    let (key, _) = problem(&store("max_conns: 0")).expect("no connections");
    assert_eq!(key, "metadata.stores.default.postgres.max_conns");
    let (key, _) =
        problem("metadata:\n  stores:\n    default:\n      type: memory\n      postgres: {}\n")
            .expect("postgres settings on memory");
    assert_eq!(key, "metadata.stores.default.postgres");
}

#[test]
fn fuse_mounts_name_a_share_and_an_absolute_path() {
    let fuse =
        |mounts: &str| format!("adapters:\n  fuse:\n    enabled: true\n    mounts: {mounts}\n");
    assert_eq!(
        problem(&fuse("[{ share: /export, mountpoint: /mnt/x }]")),
        None
    );
    let (key, _) = problem(&fuse("[]")).expect("no mounts");
    assert_eq!(key, "adapters.fuse.mounts");
    let (key, _) = problem(&fuse("[{ share: /nope, mountpoint: /mnt/x }]")).expect("share");
    assert_eq!(key, "adapters.fuse.mounts[0].share");
    let (key, _) = problem(&fuse("[{ share: /export, mountpoint: mnt }]")).expect("relative");
    assert_eq!(key, "adapters.fuse.mounts[0].mountpoint");
    let (key, _) = problem(&fuse(
        "[{ share: /export, mountpoint: /m }, { share: /export, mountpoint: /m/ }]",
    ))
    .expect("twice");
    assert_eq!(key, "adapters.fuse.mounts[1].mountpoint");
    assert_eq!(
        problem("adapters:\n  fuse:\n    mounts: []\n"),
        None,
        "disabled"
    );
}

#[test]
fn the_metrics_listener_needs_an_address_and_a_port_of_its_own() {
    assert_eq!(problem("server:\n  metrics: { enabled: true }\n"), None);
    let (key, _) =
        problem("server:\n  metrics: { enabled: true, bind: localhost }\n").expect("not an IP");
    assert_eq!(key, "server.metrics.bind");
    let (key, why) =
        problem("server:\n  metrics: { enabled: true, port: 12049 }\n").expect("the NFS port");
    assert_eq!(key, "server.metrics.port");
    assert!(why.contains("adapters.nfs.port"), "{why}");
    assert_eq!(
        problem("server:\n  metrics: { enabled: false, port: 12049 }\n"),
        None,
        "a disabled listener takes no port"
    );
}

#[test]
fn telemetry_and_adapter_rate_limits_are_checked() {
    assert_eq!(problem("telemetry: { enabled: true }"), None);
    assert_eq!(
        problem("telemetry: { endpoint: \"grpc://x\" }"),
        None,
        "a disabled exporter's endpoint is not used"
    );
    for (yaml, key) in [
        ("telemetry: { sample_rate: 1.5 }", "telemetry.sample_rate"),
        ("telemetry: { sample_rate: -0.1 }", "telemetry.sample_rate"),
        (
            "telemetry: { enabled: true, endpoint: \"grpc://x:4317\" }",
            "telemetry.endpoint",
        ),
        (
            "telemetry: { enabled: true, service_name: \" \" }",
            "telemetry.service_name",
        ),
        (
            "adapters: { nfs: { rate_limiting: { enabled: true, burst: 0 } } }",
            "adapters.nfs.rate_limiting",
        ),
        (
            "adapters: { s3: { rate_limiting: { enabled: true, requests_per_second: 0 } } }",
            "adapters.s3.rate_limiting",
        ),
    ] {
        assert_eq!(problem(yaml).map(|p| p.0), Some(key.to_owned()), "{yaml}");
    }
}
