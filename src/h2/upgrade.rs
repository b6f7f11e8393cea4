//! HTTP/1.1 `Upgrade: h2c` (RFC 7540 §3.2; deprecated by RFC 9113 §3.1 but still spoken by
//! curl, nghttp and lua-http): the `HTTP2-Settings` field and its base64url coding.

use super::config::H2Config;
use super::core::H2Core;
use super::settings::decode_settings_payload;
use crate::headers::Headers;

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// base64url without padding (RFC 4648 §5), as `token68` carries it.
pub(crate) fn base64url_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

/// Decodes base64url, with or without trailing `=` padding; `None` on any other character or
/// an impossible length.
pub(crate) fn base64url_decode(text: &[u8]) -> Option<Vec<u8>> {
    let mut end = text.len();
    while end > 0 && text[end - 1] == b'=' {
        end -= 1;
    }
    let text = &text[..end];
    if text.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for &c in text {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return None,
        };
        acc = acc << 6 | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// Server: whether a request head offers a usable `h2c` upgrade; the decoded settings if so.
/// RFC 7540 §3.2.1: exactly one `HTTP2-Settings` field, holding a valid SETTINGS payload;
/// anything else means the upgrade is ignored and the request served over HTTP/1.1.
pub(crate) fn h2c_offer(head: &Headers, max_frame: u32) -> Option<Vec<u8>> {
    let offers_h2c = head.get_all("upgrade").any(|v| {
        v.split(|&b| b == b',')
            .any(|t| t.trim_ascii().eq_ignore_ascii_case(b"h2c"))
    });
    if !offers_h2c {
        return None;
    }
    let mut values = head.get_all("http2-settings");
    let value = values.next()?;
    if values.next().is_some() {
        return None;
    }
    let payload = base64url_decode(value.trim_ascii())?;
    decode_settings_payload(&payload, max_frame).ok()?;
    Some(payload)
}

/// Client: the fields that offer the upgrade on a request head.
pub(crate) fn offer_fields(head: &mut Headers, cfg: &H2Config) {
    let payload = H2Core::settings_payload(cfg);
    head.upsert("connection", "Upgrade, HTTP2-Settings");
    head.upsert("upgrade", "h2c");
    head.upsert("http2-settings", base64url_encode(&payload));
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Method;

    #[test]
    fn base64url_round_trips_every_length() {
        for len in 0..40 {
            let data: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let text = base64url_encode(&data);
            assert!(!text.contains('='));
            assert_eq!(base64url_decode(text.as_bytes()).unwrap(), data);
        }
        // RFC 4648 §10 vectors, in the url-safe alphabet.
        assert_eq!(base64url_encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64url_encode(b"fo"), "Zm8");
        assert_eq!(base64url_decode(b"Zm8=").unwrap(), b"fo");
        assert_eq!(base64url_encode(&[0xfb, 0xff]), "-_8");
        assert!(base64url_decode(b"Zm9v+").is_none());
        assert!(base64url_decode(b"Z").is_none());
    }

    fn offer(fields: &[(&str, &str)]) -> Option<Vec<u8>> {
        let mut h = Headers::request(Method::GET, "/", Some("a"));
        for (k, v) in fields {
            h.append(k, v);
        }
        h2c_offer(&h, 16_384)
    }

    #[test]
    fn only_a_well_formed_offer_is_taken() {
        let good = base64url_encode(&H2Core::settings_payload(&H2Config::default()));
        assert!(offer(&[("upgrade", "h2c"), ("http2-settings", &good)]).is_some());
        assert!(offer(&[("upgrade", "websocket, H2C"), ("http2-settings", &good)]).is_some());
        // An empty payload is a valid (empty) SETTINGS.
        assert_eq!(
            offer(&[("upgrade", "h2c"), ("http2-settings", "")]),
            Some(Vec::new())
        );
        assert!(offer(&[("upgrade", "websocket"), ("http2-settings", &good)]).is_none());
        assert!(offer(&[("upgrade", "h2c")]).is_none());
        assert!(offer(&[
            ("upgrade", "h2c"),
            ("http2-settings", &good),
            ("http2-settings", &good)
        ])
        .is_none());
        // Not base64url; a payload that is not a multiple of 6 bytes.
        assert!(offer(&[("upgrade", "h2c"), ("http2-settings", "a+b/")]).is_none());
        assert!(offer(&[("upgrade", "h2c"), ("http2-settings", "AAMA")]).is_none());
        // SETTINGS_ENABLE_PUSH = 2 is out of range.
        let bad = base64url_encode(&[0, 2, 0, 0, 0, 2]);
        assert!(offer(&[("upgrade", "h2c"), ("http2-settings", &bad)]).is_none());
    }
}
