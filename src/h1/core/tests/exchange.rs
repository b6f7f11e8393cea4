//! A client core and a server core talking through the [`Pair`].

use super::*;

#[test]
fn client_and_server_cores_talk_to_each_other() {
    let now = Instant::now();
    let mut c = client();
    let mut s = server();
    let id = c.new_stream().unwrap();
    let mut req = Headers::request("POST", "/echo", Some("x"));
    req.append("x-test", "1");
    c.write_headers(id, &req, false).unwrap();
    c.write_body(id, b"hello ", false).unwrap();
    c.write_body(id, b"world", true).unwrap();
    let wire = std::mem::take(&mut c.out);
    assert_eq!(s.recv(&wire, now), wire.len());
    let sid = s.incoming.pop_front().unwrap();
    let h = s
        .with_recv_head(sid, |r| r.take_head())
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(h.get_str("x-test"), Some("1"));
    let body = body_of(&mut s, sid);
    assert_eq!(body, b"hello world");
    s.write_headers(sid, &Headers::response(201), false)
        .unwrap();
    s.write_body(sid, &body, true).unwrap();
    let wire = std::mem::take(&mut s.out);
    c.recv(&wire, now);
    let h = c
        .with_recv_head(id, |r| r.take_head())
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(h.status(), Some(201));
    assert_eq!(body_of(&mut c, id), b"hello world");
    assert!(c.is_idle() && s.is_idle());
}
