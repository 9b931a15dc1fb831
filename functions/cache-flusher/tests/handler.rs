//! The handler over a recording [`StageFlusher`] (a unit test's stand-in: the SDK's real
//! request is under test in tests/tests/cache_flusher.rs, against a loopback API Gateway).

#![allow(clippy::unwrap_used)]

use std::sync::Mutex;

use async_trait::async_trait;
use aws_lambda_events::event::dynamodb::Event;
use cache_flusher::error::FlusherError;
use cache_flusher::flusher::StageFlusher;
use cache_flusher::handler::handle;
use cache_flusher::stages::{Stage, parse_stages};

#[derive(Default)]
struct Recording(Mutex<Vec<String>>);

#[async_trait]
impl StageFlusher for Recording {
    async fn flush(&self, stage: &Stage) -> Result<(), FlusherError> {
        self.0.lock().unwrap().push(stage.to_string());
        Ok(())
    }
}

fn fixture() -> Event {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/events/key-disabled.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[tokio::test]
async fn the_documented_event_of_a_disabled_key_flushes_every_stage_once() {
    let stages = parse_stages(Some("abc123/prod,def456/v1")).unwrap();
    let recording = Recording::default();
    let mut event = fixture();
    // The same change twice in one batch is still one flush per stage.
    event.records.push(event.records[0].clone());
    let outcome = handle(&recording, &stages, &event).await.unwrap();
    assert_eq!(outcome.keys_changed, 2);
    assert_eq!(*recording.0.lock().unwrap(), ["abc123/prod", "def456/v1"]);
}

#[tokio::test]
async fn a_batch_with_no_decision_change_calls_nothing() {
    let stages = parse_stages(Some("abc123/prod")).unwrap();
    let recording = Recording::default();
    let mut event = fixture();
    let new_image = event.records[0].change.old_image.clone();
    event.records[0].change.new_image = new_image;
    let outcome = handle(&recording, &stages, &event).await.unwrap();
    assert_eq!((outcome.records, outcome.keys_changed), (1, 0));
    assert!(recording.0.lock().unwrap().is_empty());
}
