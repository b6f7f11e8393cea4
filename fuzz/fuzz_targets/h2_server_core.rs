#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    pollhttp::fuzzing::h2_server_core(data);
});
