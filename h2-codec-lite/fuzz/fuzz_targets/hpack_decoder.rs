#![no_main]
//! HPACK decoding under tight limits: no input may panic; decoded header
//! lists re-encode and decode to the same list. The body lives in
//! `h2_codec_lite::fuzzing` so the crate's unit tests run it too.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    h2_codec_lite::fuzzing::hpack_decoder(data);
});
