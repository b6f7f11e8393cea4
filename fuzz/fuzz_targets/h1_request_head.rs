#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    pollhttp::fuzzing::request_head(data);
});
