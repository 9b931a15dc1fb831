//! The functions' metrics under Prometheus' names: the EMF names the functions emit
//! (`Decisions`, `ValidationLatency`) become `tokengate_decisions_total` and
//! `tokengate_validation_latency_milliseconds` on `serve`'s admin port: snake case, the
//! `tokengate_` namespace, a unit suffix, and `_total` on counters (the exporter's
//! recommended naming adds the last two).

use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

/// A Prometheus recorder that renames every metric on its way in.
pub struct PrometheusNames(PrometheusRecorder);

impl std::fmt::Debug for PrometheusNames {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PrometheusNames")
    }
}

impl PrometheusNames {
    /// A recorder with the exporter's recommended naming, and its handle for rendering.
    pub fn new() -> (Self, PrometheusHandle) {
        let recorder = PrometheusBuilder::new()
            .with_recommended_naming(true)
            .build_recorder();
        let handle = recorder.handle();
        (Self(recorder), handle)
    }
}

/// `tokengate_` and the name in snake case: `ValidationLatency` → `tokengate_validation_latency`.
pub fn prometheus_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 16);
    out.push_str("tokengate");
    let mut previous_lower = false;
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            if previous_lower || out.ends_with("tokengate") {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
            previous_lower = false;
        } else if c.is_ascii_alphanumeric() {
            out.push(c);
            previous_lower = true;
        } else {
            out.push('_');
            previous_lower = false;
        }
    }
    out
}

fn renamed_key(key: &Key) -> Key {
    Key::from_parts(
        prometheus_name(key.name()),
        key.labels().cloned().collect::<Vec<_>>(),
    )
}

fn renamed(name: &KeyName) -> KeyName {
    KeyName::from(prometheus_name(name.as_str()))
}

impl Recorder for PrometheusNames {
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.0.describe_counter(renamed(&key), unit, description);
    }

    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.0.describe_gauge(renamed(&key), unit, description);
    }

    fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.0.describe_histogram(renamed(&key), unit, description);
    }

    fn register_counter(&self, key: &Key, metadata: &Metadata<'_>) -> Counter {
        self.0.register_counter(&renamed_key(key), metadata)
    }

    fn register_gauge(&self, key: &Key, metadata: &Metadata<'_>) -> Gauge {
        self.0.register_gauge(&renamed_key(key), metadata)
    }

    fn register_histogram(&self, key: &Key, metadata: &Metadata<'_>) -> Histogram {
        self.0.register_histogram(&renamed_key(key), metadata)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emf_names_become_namespaced_snake_case() {
        assert_eq!(prometheus_name("Decisions"), "tokengate_decisions");
        assert_eq!(
            prometheus_name("ValidationLatency"),
            "tokengate_validation_latency"
        );
        assert_eq!(
            prometheus_name("ValidationEndpointErrors"),
            "tokengate_validation_endpoint_errors"
        );
        assert_eq!(prometheus_name("ColdStart"), "tokengate_cold_start");
        assert_eq!(prometheus_name("JwksRefreshes"), "tokengate_jwks_refreshes");
    }
}
