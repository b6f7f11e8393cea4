#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    pollhttp::fuzzing::h2_client_core(data);
});
