//! `Headers` to and from the `http` crate's heads.

use super::*;

fn request_parts(req: http::request::Builder) -> http::request::Parts {
    req.body(()).unwrap().into_parts().0
}

fn names(h: &Headers) -> Vec<&str> {
    h.iter().map(|f| f.name).collect()
}

#[test]
fn http_crate_round_trip_keeps_sensitivity() {
    let mut parts = request_parts(
        http::Request::builder()
            .method("POST")
            .uri("http://example.com:8080/a?b=c")
            .header("authorization", "secret"),
    );
    parts
        .headers
        .get_mut("authorization")
        .unwrap()
        .set_sensitive(true);
    let h = Headers::from_request_parts(&parts);
    assert_eq!(h.method(), Some(Method::POST));
    assert_eq!(h.path_and_query(), Some("/a?b=c"));
    assert_eq!((h.path(), h.query()), (Some("/a"), Some("b=c")));
    assert_eq!(
        h.uri().map(|u| u.to_string()),
        Some("http://example.com:8080/a?b=c".to_string())
    );
    assert_eq!(h.authority(), Some("example.com:8080"));
    let auth = h.iter().find(|f| f.name == "authorization").unwrap();
    assert!(auth.sensitive);
    let map = h.to_header_map();
    assert!(map["authorization"].is_sensitive());
    assert_eq!(map.len(), 1);
    let back = h.to_request_parts().unwrap();
    assert_eq!(back.method, parts.method);
    assert_eq!(back.uri, parts.uri);
    assert!(back.headers["authorization"].is_sensitive());
    assert_eq!(back.headers, parts.headers);
}

/// A request head as an HTTP/2 peer sends it: the pseudo-headers make an absolute URI; the
/// fields keep their order and repeats; `From`/`TryFrom` are the same conversions.
#[test]
fn an_http2_request_head_becomes_request_parts_with_an_absolute_uri() {
    let h: Headers = [
        (":method", "GET"),
        (":scheme", "https"),
        (":authority", "example.com"),
        (":path", "/search?q=rust"),
        ("accept", "text/html"),
        ("cookie", "a=1"),
        ("cookie", "b=2"),
    ]
    .into_iter()
    .collect();
    let parts = http::request::Parts::try_from(&h).unwrap();
    assert_eq!(parts.method, Method::GET);
    assert_eq!(parts.uri.to_string(), "https://example.com/search?q=rust");
    assert_eq!(
        parts.version,
        http::Version::HTTP_11,
        "a head has no version"
    );
    let cookies: Vec<_> = parts.headers.get_all("cookie").iter().collect();
    assert_eq!(cookies, ["a=1", "b=2"]);
    assert!(
        !parts.headers.contains_key("host"),
        "the URI has the authority"
    );
    let again = Headers::from(&parts);
    assert_eq!(again.method(), Some(Method::GET));
    assert_eq!(again.uri(), h.uri());
    assert_eq!(
        again.get_all("cookie").collect::<Vec<_>>(),
        [&b"a=1"[..], b"b=2"]
    );
}

/// A request head as an HTTP/1 server has it (`:authority` from `Host`, no `:scheme`): the URI
/// is the origin form, and `Host` stays a field. A head made with `Headers::request` and an
/// authority but no `Host` gets one, so the authority is not lost.
#[test]
fn an_http1_request_head_keeps_its_host() {
    let mut h = Headers::request(Method::PUT, "/items/7", Some("api.test:8080"));
    h.append("host", "api.test:8080");
    h.append("content-length", "2");
    let parts = h.to_request_parts().unwrap();
    assert_eq!(parts.uri, "/items/7");
    assert_eq!(parts.headers.get_all("host").iter().count(), 1);
    assert_eq!(parts.headers["host"], "api.test:8080");
    let h = Headers::request(Method::GET, "/", Some("made.test"));
    let parts = h.to_request_parts().unwrap();
    assert_eq!((parts.uri.path(), parts.uri.host()), ("/", None));
    assert_eq!(parts.headers["host"], "made.test");
    // `:scheme` and `host` (no `:authority`) make an absolute URI too.
    let h: Headers = [(":method", "GET"), (":scheme", "http"), (":path", "/x")]
        .into_iter()
        .chain([("host", "h.test")])
        .collect();
    assert_eq!(h.to_request_parts().unwrap().uri, "http://h.test/x");
}

/// `CONNECT` names an authority, with no `:path`, both ways; `OPTIONS *` keeps its asterisk.
#[test]
fn connect_and_asterisk_targets() {
    let h: Headers = [(":method", "CONNECT"), (":authority", "proxy.test:443")]
        .into_iter()
        .collect();
    let parts = h.to_request_parts().unwrap();
    assert_eq!(parts.method, Method::CONNECT);
    assert_eq!(parts.uri.authority().unwrap(), "proxy.test:443");
    let back = Headers::from(&parts);
    assert_eq!(names(&back), [":method", ":authority"]);
    assert_eq!(back.authority(), Some("proxy.test:443"));

    let h = Headers::request(Method::OPTIONS, "*", None);
    let parts = h.to_request_parts().unwrap();
    assert_eq!(parts.uri, "*");
    let back = Headers::from(&parts);
    assert_eq!(back.path_and_query(), Some("*"));
}

#[test]
fn response_heads_both_ways() {
    let mut h = Headers::response(StatusCode::NOT_MODIFIED);
    h.append("ETag", "\"v1\"");
    h.append_sensitive("set-cookie", "s=1");
    let parts = http::response::Parts::try_from(&h).unwrap();
    assert_eq!(parts.status, StatusCode::NOT_MODIFIED);
    assert_eq!(parts.headers["etag"], "\"v1\"");
    assert!(parts.headers["set-cookie"].is_sensitive());
    let back = Headers::from(&parts);
    assert_eq!(names(&back), [":status", "etag", "set-cookie"]);
    assert_eq!(back, h, "lower-case names, same order, same values");
    let res = http::Response::from_parts(parts, "body");
    assert_eq!(*res.body(), "body");
}

/// What the `http` crate cannot hold is an `InvalidInput` error naming it, never dropped.
#[test]
fn invalid_heads_give_errors_that_say_why() {
    /// A head's fields: (name, value).
    type Fields<'a> = &'a [(&'a str, &'a [u8])];
    fn request_error(fields: Fields<'_>) -> String {
        let mut h = Headers::new();
        for (n, v) in fields {
            h.append(n, v);
        }
        let e = h.to_request_parts().expect_err("not a valid request head");
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e:?}");
        e.message().to_string()
    }
    let get: (&str, &[u8]) = (":method", b"GET");
    let path: (&str, &[u8]) = (":path", b"/");
    let cases: [(Fields<'_>, &str); 9] = [
        (&[path], "no :method"),
        (&[(":method", b"G T"), path], "not a method"),
        (&[get], "no :path"),
        (&[get, (":path", b"/a b")], "not a URI"),
        (
            &[get, path, (":status", b"200")],
            "\":status\" has no place",
        ),
        (&[get, path, (":protocol", b"websocket")], "\":protocol\""),
        (&[get, path, path], "twice"),
        (
            &[get, path, ("bad name", b"x")],
            "\"bad name\" is not a valid name",
        ),
        (&[get, path, ("x-a", b"a\nb")], "value of field \"x-a\""),
    ];
    for (fields, want) in cases {
        let got = request_error(fields);
        assert!(
            got.contains(want),
            "{fields:?}: {got:?} should say {want:?}"
        );
    }
    let e = Headers::new().to_response_parts().unwrap_err();
    assert!(e.message().contains("no :status"), "{e}");
    let mut h = Headers::new();
    h.append(":status", "2000");
    let e = http::response::Parts::try_from(&h).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(e.message().contains("\"2000\" is not a status"), "{e}");
    let mut h = Headers::response(StatusCode::OK);
    h.append(":path", "/");
    let e = h.to_response_parts().unwrap_err();
    assert!(e.message().contains("\":path\" has no place"), "{e}");
    // The http crate's own error stays reachable as the source.
    let mut h = Headers::request(Method::GET, "/", None);
    h.append("bad name", "x");
    let e = h.to_request_parts().unwrap_err();
    assert!(std::error::Error::source(&e).is_some());
}
