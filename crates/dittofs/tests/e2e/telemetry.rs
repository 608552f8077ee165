//! `telemetry`: with traces enabled, NFS procedures and S3 operations reach
//! an OTLP/HTTP collector as spans named after them, with the store calls
//! they made as child spans; the last spans are sent when the server stops.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use prost::Message;

use serde_json::json;

use crate::harness::{MEMORY_CONFIG, Server};
use crate::nfs3_procs::{create_file, getattr, write};
use crate::s3_support::{Aws, expect_ok};

/// What the collector received: each request's path and body.
type Received = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// A collector that answers every POST with an empty 200 (an empty
/// `ExportTraceServiceResponse`), on a thread per connection.
fn collector() -> (u16, Received) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind collector");
    let port = listener.local_addr().expect("addr").port();
    let received: Received = Arc::default();
    let sink = received.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let sink = sink.clone();
            std::thread::spawn(move || serve(stream, &sink));
        }
    });
    (port, received)
}

/// HTTP/1.1 requests on one connection, kept alive, until it closes.
fn serve(stream: TcpStream, sink: &Received) {
    let mut out = stream.try_clone().expect("clone stream");
    let mut r = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let path = line.split_whitespace().nth(1).unwrap_or("").to_owned();
        let mut len = 0;
        loop {
            let mut h = String::new();
            if r.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            if h.trim().is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                len = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; len];
        if r.read_exact(&mut body).is_err() {
            return;
        }
        sink.lock().unwrap().push((path, body));
        let reply =
            "HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n";
        if out.write_all(reply.as_bytes()).is_err() {
            return;
        }
    }
}

struct Span {
    name: String,
    id: Vec<u8>,
    parent: Vec<u8>,
    trace: Vec<u8>,
    attrs: HashMap<String, String>,
}

fn text(v: &Option<opentelemetry_proto::tonic::common::v1::AnyValue>) -> String {
    match v.as_ref().and_then(|v| v.value.as_ref()) {
        Some(Value::StringValue(s)) => s.clone(),
        Some(Value::IntValue(i)) => i.to_string(),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    }
}

/// Every span received, with the service names of their resources.
fn decode(received: &Received) -> (Vec<Span>, Vec<String>) {
    let (mut spans, mut services) = (Vec::new(), Vec::new());
    for (path, body) in received.lock().unwrap().iter() {
        assert_eq!(path, "/v1/traces", "OTLP/HTTP traces path");
        let req = ExportTraceServiceRequest::decode(body.as_slice()).expect("OTLP protobuf");
        for rs in req.resource_spans {
            for kv in rs.resource.iter().flat_map(|r| &r.attributes) {
                if kv.key == "service.name" {
                    services.push(text(&kv.value));
                }
            }
            for s in rs.scope_spans.into_iter().flat_map(|s| s.spans) {
                spans.push(Span {
                    name: s.name,
                    id: s.span_id,
                    parent: s.parent_span_id,
                    trace: s.trace_id,
                    attrs: s
                        .attributes
                        .iter()
                        .map(|kv| (kv.key.clone(), text(&kv.value)))
                        .collect(),
                });
            }
        }
    }
    (spans, services)
}

#[tokio::test]
async fn nfs_procedures_reach_a_collector_as_spans_with_store_children() {
    let (port, received) = collector();
    let config = format!(
        "{MEMORY_CONFIG}telemetry:\n  enabled: true\n  endpoint: 127.0.0.1:{port}\n  service_name: dittofs-e2e\n"
    );
    let mut server = Server::start_with_config(Some(&config), &[]);
    let mut c = crate::harness::mount(&server).await;
    let root = c.root_nfs_fh3();
    getattr(&mut c, &root).await;
    let (fh, _) = create_file(&mut c, &root, "traced").await;
    write(&mut c, &fh, 0, b"spans").await;
    drop(c);
    // Spans are batched; stopping the server sends what is queued.
    let status = server.terminate();
    assert!(status.success(), "exit: {status}\n{}", server.log());

    let (spans, services) = decode(&received);
    assert!(
        services.iter().any(|s| s == "dittofs-e2e"),
        "service names: {services:?}"
    );
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
    for procedure in ["GETATTR", "CREATE", "WRITE"] {
        let span = spans
            .iter()
            .find(|s| s.name == procedure)
            .unwrap_or_else(|| panic!("no {procedure} span in {names:?}"));
        assert!(span.parent.is_empty(), "{procedure} is a trace's root");
        assert_eq!(
            span.attrs.get("client.address").map(String::as_str),
            Some("127.0.0.1")
        );
        assert!(
            span.attrs.get("nfs.handle").is_some_and(|h| h.len() > 8),
            "{procedure} carries the handle: {:?}",
            span.attrs
        );
        let children: Vec<&str> = spans
            .iter()
            .filter(|s| s.parent == span.id && s.trace == span.trace)
            .map(|s| s.name.as_str())
            .collect();
        assert!(
            children.iter().any(|n| n.starts_with("meta.")),
            "{procedure} has no store call under it: {children:?}"
        );
    }
}

#[test]
fn s3_operations_reach_a_collector_as_spans_named_after_them() {
    let (port, received) = collector();
    let config = format!(
        "{}telemetry:\n  enabled: true\n  endpoint: http://127.0.0.1:{port}/v1/traces\n",
        crate::harness::S3_CONFIG
    );
    let mut server = Server::start_s3_with_config(&config);
    let aws = Aws::new(&server);
    expect_ok(
        &aws,
        "put_object",
        json!({"Bucket": "export", "Key": "traced/object", "Body": "spans"}),
    );
    expect_ok(
        &aws,
        "get_object",
        json!({"Bucket": "export", "Key": "traced/object"}),
    );
    let status = server.terminate();
    assert!(status.success(), "exit: {status}\n{}", server.log());

    let (spans, _) = decode(&received);
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
    for operation in ["PutObject", "GetObject"] {
        let span = spans
            .iter()
            .find(|s| s.name == operation)
            .unwrap_or_else(|| panic!("no {operation} span in {names:?}"));
        assert_eq!(
            span.attrs.get("url.path").map(String::as_str),
            Some("/export/traced/object")
        );
        assert!(
            spans
                .iter()
                .any(|s| s.parent == span.id && s.name.starts_with("meta.")),
            "{operation} has no store call under it"
        );
    }
}

#[tokio::test]
async fn a_collector_that_is_down_costs_requests_nothing() {
    let port = crate::harness::free_port();
    let config =
        format!("{MEMORY_CONFIG}telemetry:\n  enabled: true\n  endpoint: 127.0.0.1:{port}\n");
    let mut server = Server::start_with_config(Some(&config), &[]);
    let mut c = crate::harness::mount(&server).await;
    let root = c.root_nfs_fh3();
    for _ in 0..100 {
        getattr(&mut c, &root).await;
    }
    drop(c);
    let stopping = std::time::Instant::now();
    let status = server.terminate();
    assert!(status.success(), "exit: {status}\n{}", server.log());
    assert!(
        stopping.elapsed() < std::time::Duration::from_secs(15),
        "stopping waited {:?} for the collector",
        stopping.elapsed()
    );
}
