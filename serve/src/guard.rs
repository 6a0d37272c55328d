//! The checks every request passes before a handler sees it:
//!
//! - **paths**: a path holding `..`, a backslash or an encoded dot or slash is refused (400); no
//!   handler turns a request path into a file path anyway ([`crate::assets`] serves compiled-in
//!   files, [`crate::images`] images by row id);
//! - **host**: on a loopback address the `Host` header must name a loopback host (a page of
//!   another site that re-points its DNS name at 127.0.0.1 is refused: DNS rebinding);
//! - **token**: when the server has one, every request carries it (`Authorization: Bearer`, the
//!   `autopilot_token` cookie the page gets, or `?token=` on the first page load), compared in
//!   constant time;
//! - **cross-site requests**: every method but GET/HEAD needs the app's [`CSRF_HEADER`] (a form
//!   or image of another site cannot send it, and the server answers no CORS preflight) and, when
//!   the browser sends `Origin` or `Sec-Fetch-Site`, a same-origin one.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::state::AppState;

/// Header every state-changing request of the app carries.
pub const CSRF_HEADER: &str = "x-autopilot-request";

/// Cookie holding the token once the page was opened with `?token=`.
pub const TOKEN_COOKIE: &str = "autopilot_token";

/// The middleware.
pub async fn guard(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    if let Err(e) = check(&state, &req) {
        return e.into_response();
    }
    let set_cookie = state
        .opts
        .token
        .as_deref()
        .filter(|t| query_token(req.uri().query()).is_some_and(|q| eq(q.as_bytes(), t.as_bytes())))
        .map(|t| format!("{TOKEN_COOKIE}={t}; Path=/; HttpOnly; SameSite=Strict"));
    let mut resp = next.run(req).await;
    if let Some(c) = set_cookie
        && let Ok(v) = c.parse()
    {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    let h = resp.headers_mut();
    h.insert("x-content-type-options", "nosniff".parse().unwrap());
    h.insert("x-frame-options", "DENY".parse().unwrap());
    h.insert("referrer-policy", "no-referrer".parse().unwrap());
    resp
}

fn check(state: &AppState, req: &Request) -> Result<(), ApiError> {
    check_path(req.uri().path())?;
    let headers = req.headers();
    if state.opts.host.is_loopback() && !loopback_host(headers) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "the Host header must be localhost or a loopback address",
        ));
    }
    if let Some(token) = &state.opts.token
        && !has_token(headers, req.uri().query(), token)
    {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "missing or wrong token: open the address printed by 'autopilot serve' (with ?token=)",
        ));
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        check_same_origin(headers)?;
    } else {
        check_not_cross_site(headers)?;
    }
    Ok(())
}

/// Refuses paths that try to leave their folder, plainly or encoded.
fn check_path(path: &str) -> Result<(), ApiError> {
    let lower = path.to_ascii_lowercase();
    let bad = path.split('/').any(|seg| seg == ".." || seg == ".")
        || path.contains('\\')
        || path.contains("//")
        || ["%2e", "%2f", "%5c", "%00"]
            .iter()
            .any(|enc| lower.contains(enc));
    if bad {
        return Err(ApiError::bad(format!("refused path '{path}'")));
    }
    Ok(())
}

/// Whether `Host` names a loopback host (any port).
fn loopback_host(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        host.rsplit_once(':').map_or(host, |(h, _)| h)
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn has_token(headers: &HeaderMap, query: Option<&str>, token: &str) -> bool {
    let t = token.as_bytes();
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|v| eq(v.trim().as_bytes(), t));
    let cookie = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .any(|(k, v)| k == TOKEN_COOKIE && eq(v.as_bytes(), t));
    let in_query = query_token(query).is_some_and(|q| eq(q.as_bytes(), t));
    bearer || cookie || in_query
}

fn query_token(query: Option<&str>) -> Option<&str> {
    query?
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == "token")
        .map(|(_, v)| v)
}

/// Constant-time equality.
fn eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Refuses a read that another site's page asked for (an `<img>` or a script's fetch): some
/// reads start heavy work (insights), and none should leak to another site. Browsers say where
/// a request comes from in `Sec-Fetch-Site`; a request without it (curl, tests) is a local tool.
fn check_not_cross_site(headers: &HeaderMap) -> Result<(), ApiError> {
    match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        Some(site) if site != "same-origin" && site != "none" => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "cross-site request refused (Sec-Fetch-Site)".to_string(),
        )),
        _ => Ok(()),
    }
}

fn check_same_origin(headers: &HeaderMap) -> Result<(), ApiError> {
    let forbidden = |m: &str| ApiError::new(StatusCode::FORBIDDEN, m.to_string());
    if headers.get(CSRF_HEADER).is_none() {
        return Err(forbidden(
            "cross-site request refused: state-changing requests come from the app itself",
        ));
    }
    check_not_cross_site(headers)?;
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        let host = headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let same = origin
            .split_once("://")
            .is_some_and(|(_, rest)| rest.eq_ignore_ascii_case(host));
        if !same {
            return Err(forbidden("cross-site request refused (Origin)"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traversal_paths_are_refused() {
        for p in [
            "/../etc/passwd",
            "/assets/../Cargo.toml",
            "/api/image/%2e%2e%2fetc",
            "/api/x/..%2F..%2Fsecret",
            "/a\\b",
            "//etc/passwd",
        ] {
            assert!(check_path(p).is_err(), "{p}");
        }
        for p in ["/", "/assets/app.js", "/api/models/M3/insights/confusion"] {
            assert!(check_path(p).is_ok(), "{p}");
        }
    }

    #[test]
    fn loopback_hosts() {
        let h = |v: &str| {
            let mut m = HeaderMap::new();
            m.insert(header::HOST, v.parse().unwrap());
            loopback_host(&m)
        };
        assert!(h("127.0.0.1:8765") && h("localhost:1") && h("[::1]:80") && h("localhost"));
        assert!(!h("evil.example:8765") && !h("10.0.0.1") && !h("[2001:db8::1]:80"));
    }

    #[test]
    fn constant_time_eq() {
        assert!(eq(b"abcdefgh", b"abcdefgh"));
        assert!(!eq(b"abcdefgh", b"abcdefgX") && !eq(b"abc", b"abcd"));
    }
}
