//! What the fuzz targets share: a current-thread runtime and an in-memory key store holding
//! the fixtures' key, built once per process.

use std::sync::Arc;

use tokengate_shared::KeyAdmin;
use tokengate_shared::store::memory::MemoryKeyStore;
use tokengate_tests::fixtures::fixture_key;

/// A runtime (with timers) and a key store that knows the fixtures' key.
pub fn runtime_and_keys() -> (tokio::runtime::Runtime, Arc<MemoryKeyStore>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a runtime");
    let keys = Arc::new(MemoryKeyStore::new());
    runtime
        .block_on(keys.create(&fixture_key()))
        .expect("the key is stored");
    (runtime, keys)
}
