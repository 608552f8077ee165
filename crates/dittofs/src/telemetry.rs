//! `telemetry`: the request and store spans (target `dittofs_trace`) as
//! OpenTelemetry traces, batched and POSTed as OTLP/HTTP protobuf by a
//! thread of the exporter's own (a blocking HTTP client, so no async
//! runtime is needed there). Disabled, nothing is installed and the spans
//! stay disabled `tracing` callsites.

use dittofs_runtime::config::Telemetry;
use dittofs_runtime::logging::BoxedLayer;

/// The exporter, kept until exit so that the spans still queued are sent.
pub struct Traces {
    #[cfg(feature = "otlp")]
    provider: opentelemetry_sdk::trace::SdkTracerProvider,
}

/// Builds the exporter and the layer that feeds it, when enabled. Call it
/// outside the async runtime.
#[cfg(feature = "otlp")]
pub fn start(cfg: &Telemetry) -> Result<Option<(Traces, BoxedLayer)>, String> {
    use std::time::Duration;

    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_otlp::{Protocol, SpanExporter, WithExportConfig};
    use opentelemetry_sdk::Resource;
    use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::filter::filter_fn;

    if !cfg.enabled {
        return Ok(None);
    }
    let url = cfg
        .traces_url()
        .map_err(|e| format!("telemetry.endpoint: {e}"))?;
    // reqwest is built without a TLS provider of its own choosing.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let exporter = SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(&url)
        .with_timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| format!("telemetry: {e}"))?;
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
            cfg.sample_rate,
        ))))
        .with_resource(
            Resource::builder()
                .with_service_name(cfg.service_name.trim().to_owned())
                .build(),
        )
        .build();
    let tracer = provider.tracer("dittofs");
    // Only the spans made for traces, and the warnings and errors logged
    // inside them (as span events); everything else is the log's.
    // Without context activation an OpenTelemetry span starts when its
    // first child does, not when it is first entered, so an S3 request's
    // span can still be renamed after its operation once s3s has routed it
    // (and no OpenTelemetry context is attached on every poll).
    let layer = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_location(false)
        .with_context_activation(false)
        .with_filter(filter_fn(|m| {
            if m.is_span() {
                m.target() == "dittofs_trace"
            } else {
                *m.level() <= tracing::Level::WARN
            }
        }))
        .boxed();
    Ok(Some((Traces { provider }, layer)))
}

#[cfg(not(feature = "otlp"))]
pub fn start(cfg: &Telemetry) -> Result<Option<(Traces, BoxedLayer)>, String> {
    if cfg.enabled {
        eprintln!("dittofs: telemetry.enabled is set, but this build has no OTLP exporter");
    }
    Ok(None)
}

impl Traces {
    /// Sends what is queued and stops the exporter. Call it outside the
    /// async runtime, after the last request.
    pub fn shut_down(self) {
        #[cfg(feature = "otlp")]
        if let Err(e) = self
            .provider
            .shutdown_with_timeout(std::time::Duration::from_secs(10))
        {
            tracing::warn!(error = %e, "could not send the last traces");
        }
    }
}
