//! [`Headers`] to and from the `http` crate's heads: `http::request::Parts` and
//! `http::response::Parts` (what `http::Request::into_parts` gives and `from_parts` takes),
//! and the ordinary fields as an `http::HeaderMap`.
//!
//! Pseudo-headers map to the parts' typed members: `:method` to `method`; `:scheme`,
//! `:authority` and `:path` to `uri` (absolute when the head has a scheme and an authority,
//! the path and query alone otherwise, the authority alone for `CONNECT`); `:status` to
//! `status`. Field names stay lower-case, sensitive values stay sensitive. A head carries no
//! version: the parts made from one say HTTP/1.1 (set `version` from
//! [`Stream::peer_version`](crate::Stream::peer_version) when it matters).

use super::{Field, Headers};
use crate::error::{Error, ErrorKind, Result};
use http::header::{HeaderMap, HeaderName, HeaderValue};
use http::{Method, StatusCode, Uri};

fn invalid(message: String) -> Error {
    Error::new(ErrorKind::InvalidInput, message)
}

/// The ordinary fields of `h` as a `HeaderMap`, every one of them: a name or value the `http`
/// crate refuses is an error naming it.
fn fields_to_map(h: &Headers) -> Result<HeaderMap> {
    let mut map = HeaderMap::with_capacity(h.len());
    for f in h.iter().filter(|f| !f.name.starts_with(':')) {
        let name = HeaderName::from_bytes(f.name.as_bytes()).map_err(|e| {
            invalid(format!("the field name {:?} is not a valid name", f.name)).with_source(e)
        })?;
        let mut value = HeaderValue::from_bytes(f.value).map_err(|e| {
            invalid(format!(
                "the value of field {:?} ({:?}) is not a valid value",
                f.name,
                String::from_utf8_lossy(f.value)
            ))
            .with_source(e)
        })?;
        value.set_sensitive(f.sensitive);
        map.append(name, value);
    }
    Ok(map)
}

/// The pseudo-headers of a head, each found once at most; any other pseudo-header, or one
/// found twice, is an error naming it.
fn pseudo<'h, const N: usize>(
    h: &'h Headers,
    known: [&str; N],
    what: &str,
) -> Result<[Option<Field<'h>>; N]> {
    let mut found = [None; N];
    for f in h.iter().filter(|f| f.name.starts_with(':')) {
        let Some(i) = known.iter().position(|k| *k == f.name) else {
            return Err(invalid(format!(
                "the pseudo-header {:?} has no place in http::{what}::Parts",
                f.name
            )));
        };
        if found[i].is_some() {
            return Err(invalid(format!("the head has {:?} twice", f.name)));
        }
        found[i] = Some(f);
    }
    Ok(found)
}

/// A pseudo-header's value as text.
fn text<'h>(f: Field<'h>) -> Result<&'h str> {
    f.value_str()
        .ok_or_else(|| invalid(format!("the value of {:?} is not UTF-8", f.name)))
}

impl Headers {
    /// The ordinary fields (no pseudo-headers) as an `http::HeaderMap`; fields whose name or
    /// value the `http` crate does not accept are left out (the conversions to `Parts` refuse
    /// them instead).
    pub fn to_header_map(&self) -> HeaderMap {
        let mut map = HeaderMap::with_capacity(self.len());
        for f in self.iter().filter(|f| !f.name.starts_with(':')) {
            if let (Ok(n), Ok(mut v)) = (
                HeaderName::from_bytes(f.name.as_bytes()),
                HeaderValue::from_bytes(f.value),
            ) {
                v.set_sensitive(f.sensitive);
                map.append(n, v);
            }
        }
        map
    }

    /// Appends every field of an `http::HeaderMap` (sensitive values stay sensitive).
    pub fn extend_from_header_map(&mut self, map: &HeaderMap) {
        for (n, v) in map {
            self.push(n.as_str(), v.as_bytes(), v.is_sensitive());
        }
    }

    /// A request head from `http::request::Parts`: `:method`; `:path` (the URI's path and
    /// query, `/` when it has none, `*` for `OPTIONS` without one; none for a `CONNECT` to an
    /// authority); `:authority` and `:scheme` when the URI has them; then the fields.
    ///
    /// ```
    /// use pollhttp::{Headers, Method};
    /// let req = pollhttp::http::Request::post("http://example.com/up?x=1")
    ///     .header("content-type", "text/plain")
    ///     .body(())
    ///     .unwrap();
    /// let h = Headers::from_request_parts(&req.into_parts().0);
    /// assert_eq!(h.method(), Some(Method::POST));
    /// assert_eq!(h.path_and_query(), Some("/up?x=1"));
    /// assert_eq!(h.authority(), Some("example.com"));
    /// assert_eq!(h.get_str("content-type"), Some("text/plain"));
    /// ```
    pub fn from_request_parts(parts: &http::request::Parts) -> Headers {
        let uri = &parts.uri;
        let mut h = Headers::with_capacity(parts.headers.len() + 4, 64);
        h.append(":method", parts.method.as_str());
        let authority_form = parts.method == Method::CONNECT
            && uri.authority().is_some()
            && uri.path_and_query().is_none_or(|p| p.as_str().is_empty());
        if !authority_form {
            let path = match uri.path_and_query() {
                Some(p) if !p.as_str().is_empty() => p.as_str(),
                _ if parts.method == Method::OPTIONS => "*",
                _ => "/",
            };
            h.append(":path", path);
        }
        if let Some(a) = uri.authority() {
            h.append(":authority", a.as_str());
        }
        if let Some(s) = uri.scheme_str() {
            h.append(":scheme", s);
        }
        h.extend_from_header_map(&parts.headers);
        h
    }

    /// A response head from `http::response::Parts`: `:status`, then the fields.
    ///
    /// ```
    /// use pollhttp::{Headers, StatusCode};
    /// let res = pollhttp::http::Response::builder().status(404).body(()).unwrap();
    /// let h = Headers::from_response_parts(&res.into_parts().0);
    /// assert_eq!(h.status(), Some(StatusCode::NOT_FOUND));
    /// ```
    pub fn from_response_parts(parts: &http::response::Parts) -> Headers {
        let mut h = Headers::response(parts.status);
        h.extend_from_header_map(&parts.headers);
        h
    }

    /// The head as `http::request::Parts` (join a body with `http::Request::from_parts`):
    /// `method` from `:method`; `uri` absolute (`http://host/path?query`) when the head has
    /// `:scheme` and an authority (`:authority`, else `host`), the `:path` alone otherwise,
    /// and the authority alone for a `CONNECT` without `:path`; the fields as `headers`, in
    /// order, with a `host` added from `:authority` when the URI cannot carry it and the head
    /// has none (so the authority is never lost). `version` is HTTP/1.1: a head has none.
    ///
    /// ```
    /// use pollhttp::{Headers, Method};
    /// let mut h = Headers::request(Method::GET, "/hello?x=1", Some("example.com"));
    /// h.append("accept", "*/*");
    /// let parts = h.to_request_parts()?;
    /// assert_eq!(parts.method, Method::GET);
    /// assert_eq!(parts.uri.path(), "/hello");
    /// assert_eq!(parts.uri.query(), Some("x=1"));
    /// assert_eq!(parts.headers["host"], "example.com");
    /// assert_eq!(parts.headers["accept"], "*/*");
    /// let req = pollhttp::http::Request::from_parts(parts, ());
    /// # Ok::<(), pollhttp::Error>(())
    /// ```
    ///
    /// # Errors
    /// `InvalidInput`, naming what is wrong: no `:method`, or one that is no method; no
    /// `:path` (other than for `CONNECT`), or a target that is no URI; a pseudo-header twice,
    /// or one a request has no place for (`:status`, `:protocol` ...); a field whose name or
    /// value the `http` crate does not accept.
    pub fn to_request_parts(&self) -> Result<http::request::Parts> {
        let [method, scheme, authority, path] = pseudo(
            self,
            [":method", ":scheme", ":authority", ":path"],
            "request",
        )?;
        let method = method.ok_or_else(|| invalid("no :method: not a request head".into()))?;
        let method = Method::from_bytes(method.value).map_err(|e| {
            invalid(format!(
                "the :method {:?} is not a method",
                String::from_utf8_lossy(method.value)
            ))
            .with_source(e)
        })?;
        let mut headers = fields_to_map(self)?;
        let authority = authority.map(text).transpose()?;
        let host = headers
            .get(http::header::HOST)
            .and_then(|v| v.to_str().ok());
        let uri_authority = authority.or(host).filter(|a| !a.is_empty());
        let scheme = scheme.map(text).transpose()?;
        let bad_uri = |target: &str, e: http::Error| {
            invalid(format!("the request target {target:?} is not a URI")).with_source(e)
        };
        let uri = match (path.map(text).transpose()?, scheme, uri_authority) {
            (None, _, Some(a)) if method == Method::CONNECT => Uri::builder()
                .authority(a)
                .build()
                .map_err(|e| bad_uri(a, e))?,
            (None, _, _) => {
                return Err(invalid(format!(
                    "no :path: a {method} request names its target with :path"
                )))
            }
            (Some(p), Some(s), Some(a)) => Uri::builder()
                .scheme(s)
                .authority(a)
                .path_and_query(p)
                .build()
                .map_err(|e| bad_uri(&format!("{s}://{a}{p}"), e))?,
            (Some(p), _, _) => Uri::builder()
                .path_and_query(p)
                .build()
                .map_err(|e| bad_uri(p, e))?,
        };
        if uri.authority().is_none() && !headers.contains_key(http::header::HOST) {
            if let Some(a) = authority.filter(|a| !a.is_empty()) {
                let v = HeaderValue::from_str(a).map_err(|e| {
                    invalid(format!("the :authority {a:?} is not a valid host")).with_source(e)
                })?;
                headers.insert(http::header::HOST, v);
            }
        }
        let (mut parts, ()) = http::Request::new(()).into_parts();
        parts.method = method;
        parts.uri = uri;
        parts.headers = headers;
        Ok(parts)
    }

    /// The head as `http::response::Parts` (join a body with `http::Response::from_parts`):
    /// `status` from `:status`, the fields as `headers`, in order. `version` is HTTP/1.1: a
    /// head has none.
    ///
    /// ```
    /// use pollhttp::{Headers, StatusCode};
    /// let mut h = Headers::response(StatusCode::CREATED);
    /// h.append("location", "/items/7");
    /// let parts = h.to_response_parts()?;
    /// assert_eq!(parts.status, StatusCode::CREATED);
    /// assert_eq!(parts.headers["location"], "/items/7");
    /// # Ok::<(), pollhttp::Error>(())
    /// ```
    ///
    /// # Errors
    /// `InvalidInput`, naming what is wrong: no `:status`, or one that is no status (three
    /// digits, 100 to 999); a pseudo-header twice, or one other than `:status`; a field whose
    /// name or value the `http` crate does not accept.
    pub fn to_response_parts(&self) -> Result<http::response::Parts> {
        let [status] = pseudo(self, [":status"], "response")?;
        let status = status.ok_or_else(|| invalid("no :status: not a response head".into()))?;
        let status = Headers::parse_status(status.value)
            .and_then(|s| StatusCode::from_u16(s).ok())
            .ok_or_else(|| {
                invalid(format!(
                    "the :status {:?} is not a status (three digits, 100 to 999)",
                    String::from_utf8_lossy(status.value)
                ))
            })?;
        let (mut parts, ()) = http::Response::new(()).into_parts();
        parts.status = status;
        parts.headers = fields_to_map(self)?;
        Ok(parts)
    }
}

/// [`Headers::from_request_parts`].
impl From<&http::request::Parts> for Headers {
    fn from(parts: &http::request::Parts) -> Headers {
        Headers::from_request_parts(parts)
    }
}

/// [`Headers::from_response_parts`].
impl From<&http::response::Parts> for Headers {
    fn from(parts: &http::response::Parts) -> Headers {
        Headers::from_response_parts(parts)
    }
}

/// [`Headers::to_request_parts`].
impl TryFrom<&Headers> for http::request::Parts {
    type Error = Error;

    fn try_from(h: &Headers) -> Result<http::request::Parts> {
        h.to_request_parts()
    }
}

/// [`Headers::to_response_parts`].
impl TryFrom<&Headers> for http::response::Parts {
    type Error = Error;

    fn try_from(h: &Headers) -> Result<http::response::Parts> {
        h.to_response_parts()
    }
}

#[cfg(test)]
mod tests;
