#![no_main]
use libfuzzer_sys::fuzz_target;

// The JSON-lines fast path of `vigie hunt`, held to sonic-rs: a panic here
// is a line the two decoders read differently.
fuzz_target!(|data: &[u8]| {
    vigie_detect::harness::flat_json(data);
});
