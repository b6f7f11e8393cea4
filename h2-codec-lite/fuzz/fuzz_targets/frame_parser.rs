#![no_main]
//! Frame decoding: no input may panic; parsed frames re-encode to the
//! same frame. The body lives in `h2_codec_lite::fuzzing` so the crate's
//! unit tests run it too.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    h2_codec_lite::fuzzing::frame_parser(data);
});
