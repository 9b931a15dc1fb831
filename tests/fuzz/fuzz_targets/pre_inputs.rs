//! Any text as pre-inputs: parsed, every problem reported, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Err(error) = authorizer::PreInputs::parse_with(&text, &|_| Some("s".to_owned())) {
        assert!(
            !error.problems.is_empty(),
            "an error names at least one problem"
        );
        let _ = error.deny();
    }
});
