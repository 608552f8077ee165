//! The commented configuration `dittofs init` writes. It spells out the
//! defaults, so starting from it changes nothing until it is edited.

pub const TEMPLATE: &str = r#"# DittoFS configuration.
#
# Every key has a default; delete what you do not change. Any scalar key can
# also be set from the environment as DITTOFS_<SECTION>_<KEY>, for example
# DITTOFS_LOGGING_LEVEL=DEBUG or DITTOFS_ADAPTERS_NFS_PORT=3049.
# Reference: docs/CONFIGURATION.md.

logging:
  level: INFO          # TRACE, DEBUG, INFO, WARN or ERROR
  format: text         # text or json
  output: stderr       # stdout, stderr, or a file path to append to

telemetry:             # traces of requests, over OTLP/HTTP (protobuf)
  enabled: false
  endpoint: localhost:4318 # host:port or http(s):// URL; /v1/traces is added without a path
  insecure: true       # without a scheme in endpoint: http when true, https when false
  sample_rate: 1.0     # fraction of requests traced, 0 to 1
  service_name: dittofs

server:
  shutdown_timeout: 30s   # how long requests in progress may finish after SIGTERM
  data_dir: ""            # "" = $XDG_DATA_HOME/dittofs (or ~/.local/share/dittofs)
  rate_limiting:           # over the rate: NFS JUKEBOX, S3 503 SlowDown
    enabled: false
    requests_per_second: 5000
    burst: 10000
  metrics:                 # /metrics (Prometheus), /health, /health/ready, /status
    enabled: false
    port: 9090
    bind: 127.0.0.1        # 0.0.0.0 to let Prometheus scrape from another host

# Named stores are created once and shared by every share that names them.
# Metadata types: embedded (on disk, the default), postgres (for several
# servers sharing one namespace) or memory (lost at exit).
metadata:
  stores:
    default:
      type: embedded
      embedded:
        path: ""             # "" = <data_dir>/metadata/<store name>
        sync_interval: 1s    # power-loss durability every 1s; 0s = before every reply
    # shared:
    #   type: postgres
    #   postgres:
    #     dsn: "postgres://dittofs@db.example.com/dittofs"   # or host/port/database/user
    #     password: ""       # better from DITTOFS_METADATA_STORES_SHARED_POSTGRES_PASSWORD
    #     sslmode: verify-full   # disable | prefer | require | verify-ca | verify-full
    #     ssl_root_cert: ""  # PEM of the CA that signed the server's certificate; "" = system roots
    #     max_conns: 16

# Payload (file content) types: fs (files on disk, the default) or memory.
payload:               # also accepted as "content"
  stores:
    default:
      type: fs
      fs:
        path: ""             # "" = <data_dir>/blocks/<store name>
      block_size: 4MiB       # files are cut into blocks of this size
    # objects:               # blocks in any S3-compatible bucket
    #   type: s3
    #   s3:
    #     endpoint: http://127.0.0.1:9000   # "" = AWS itself
    #     region: us-east-1
    #     bucket: dittofs-blocks
    #     prefix: ""
    #     access_key: ""     # "" = AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY
    #     secret_key: ""
    #     timeout: 30s
    #     max_retries: 10

cache:
  max_size: 256MiB     # cached blocks; half as much again holds written, unflushed data

shares:
  - name: /export
    metadata_store: default
    payload_store: default
    read_only: false
    squash:
      map_all_to_anonymous: false         # all_squash
      map_privileged_to_anonymous: false  # root_squash
      anonymous_uid: 65534
      anonymous_gid: 65534
    allowed_clients: []    # CIDR blocks; empty = everyone not denied
    denied_clients: []     # CIDR blocks; a deny always wins
    dump_restricted: false # only local clients may list this share's mounts
    durability: local      # COMMIT waits for: local (journal on disk), remote (block and
                           # metadata stores; for servers sharing stores), none (nothing)
    root:                  # the share's root directory, when first created
      mode: "0755"
      # uid: 1000          # default: the user running the server
      # gid: 1000
    s3:
      bucket: ""           # its S3 bucket; "" = the share name without "/"
      anonymous_read: false # unsigned requests may GET, HEAD and list
      access: {}           # access key -> none | read | write | owner

adapters:
  nfs:
    enabled: true
    bind: 127.0.0.1
    port: 12049            # NFS, MOUNT and the portmapper all answer here
    max_connections: 0     # 0 = no limit
    max_io_size: 1MiB      # largest READ/WRITE offered to clients
    max_record_size: 1088KiB
    portmapper:
      enabled: false       # also answer the portmapper on its standard port
      port: 111
    rate_limiting:         # NFS alone, on top of server.rate_limiting
      enabled: false
      requests_per_second: 5000
      burst: 10000
  s3:
    enabled: true
    bind: 127.0.0.1
    port: 12080
    region: us-east-1
    # With no credentials, one key pair is generated into
    # <data_dir>/s3-credentials; it acts as root with owner access.
    credentials: []
    #  - access_key: alice
    #    secret_key: change-me-please
    #    uid: 1000         # the identity its requests act as on files
    #    gid: 1000
    #    default_access: none # none | read | write | owner
    buckets:               # where CreateBucket puts new buckets' shares
      metadata_store: ""   # "" = the first share's stores
      payload_store: ""
      durability: local
    multipart_expiry: 7d   # uploads idle this long are removed
    rate_limiting:         # S3 alone, on top of server.rate_limiting
      enabled: false
      requests_per_second: 5000
      burst: 10000
  fuse:                    # shares mounted as local file systems (needs /dev/fuse)
    enabled: false
    mounts: []
    #  - share: /export
    #    mountpoint: /mnt/dittofs  # an existing directory
    threads: 4             # threads serving each mount
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, parse_yaml};

    #[test]
    fn the_template_is_the_defaults() {
        assert_eq!(parse_yaml(TEMPLATE, "template").unwrap(), Config::default());
    }
}
