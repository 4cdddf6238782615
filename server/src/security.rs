//! The browser surface's guards: where a request really comes from (behind trusted proxies only),
//! cross-site requests refused, and the headers every answer carries.

use app::ssr::ClientAddress;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// What the guards need to know about the deployment.
#[derive(Debug, Clone)]
pub struct Site {
    /// `scheme://host[:port]` as browsers send it in `Origin`.
    pub origin: String,
    /// Proxies whose `X-Forwarded-For` / `Forwarded` is believed. Empty: the TCP peer is the client.
    pub trusted_proxies: Vec<IpNet>,
    /// Served over HTTPS: HSTS is sent.
    pub https: bool,
}

impl Site {
    /// `public_url` (e.g. `https://keys.example.com`), or else the address the server listens on.
    pub fn new(
        public_url: Option<&str>,
        listen: SocketAddr,
        trusted_proxies: Vec<IpNet>,
        https: bool,
    ) -> Result<Self, String> {
        let origin = match public_url {
            Some(url) => origin_of(url).ok_or_else(|| format!("KEYWARD_PUBLIC_URL: {url:?} is not an http(s) URL"))?,
            None => format!("http://{listen}"),
        };
        Ok(Self { origin, trusted_proxies, https })
    }
}

/// `https://keys.example.com/x?y` → `https://keys.example.com`.
fn origin_of(url: &str) -> Option<String> {
    let uri: Uri = url.trim().parse().ok()?;
    let scheme = uri.scheme_str().filter(|s| *s == "http" || *s == "https")?;
    Some(format!("{scheme}://{}", uri.authority()?.as_str().to_ascii_lowercase()))
}

/// Parses `KEYWARD_TRUSTED_PROXIES`: CIDRs (or single addresses) separated by commas.
pub fn parse_trusted_proxies(list: &str) -> Result<Vec<IpNet>, String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<IpNet>()
                .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("KEYWARD_TRUSTED_PROXIES: {s:?} is not an address or a CIDR"))
        })
        .collect()
}

/// Puts the client's address in the request (for limits and the audit log): the TCP peer, or,
/// when the peer is a trusted proxy, the address the proxies say they received the request from.
pub async fn client_address(State(site): State<Arc<Site>>, mut request: Request, next: Next) -> Response {
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(peer)| peer.ip());
    if let Some(peer) = peer {
        let client = forwarded_client(peer, request.headers(), &site.trusted_proxies);
        request.extensions_mut().insert(ClientAddress(client));
    }
    next.run(request).await
}

/// Walks the forwarding chain from the nearest hop back: the first address that is not a trusted
/// proxy is the client. Without a trusted peer the headers are ignored (anyone can write them).
pub fn forwarded_client(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let mut chain = forwarded_chain(headers);
    // Nearest hop last: walk from the end.
    let mut client = peer;
    while let Some(hop) = chain.pop() {
        client = hop;
        if !is_trusted(&hop) {
            break;
        }
    }
    client
}

/// The addresses in `Forwarded` (RFC 7239 `for=`), else `X-Forwarded-For`, oldest first. An
/// entry that is not an address (`unknown`, an obfuscated name) ends the chain there.
fn forwarded_chain(headers: &HeaderMap) -> Vec<IpAddr> {
    let forwarded: Vec<&str> = headers.get_all(header::FORWARDED).iter().filter_map(|v| v.to_str().ok()).collect();
    let entries: Vec<String> = if !forwarded.is_empty() {
        forwarded
            .iter()
            .flat_map(|v| v.split(','))
            .filter_map(|element| {
                element.split(';').map(str::trim).find_map(|pair| {
                    let (name, value) = pair.split_once('=')?;
                    name.trim().eq_ignore_ascii_case("for").then(|| value.trim().trim_matches('"').to_owned())
                })
            })
            .collect()
    } else {
        headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|s| s.trim().to_owned())
            .collect()
    };
    let mut chain = Vec::new();
    for entry in entries {
        match parse_node(&entry) {
            Some(ip) => chain.push(ip),
            // An address we cannot read: nothing older than it can be trusted either.
            None => chain.clear(),
        }
    }
    chain
}

/// `203.0.113.7`, `203.0.113.7:4711`, `[2001:db8::1]`, `[2001:db8::1]:4711`, `2001:db8::1`.
fn parse_node(node: &str) -> Option<IpAddr> {
    if let Ok(ip) = node.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Some(rest) = node.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    node.parse::<SocketAddr>().ok().map(|s| s.ip())
}

/// Refuses a state-changing request to the dashboard (a server function, a form post) that a
/// browser did not send from this site: cross-site request forgery, including from a sibling
/// subdomain (which `SameSite=Lax` lets through), and forced sign-in or sign-out. The management
/// API (`/api/v1`) is authenticated by a key in a header, which no other site can make a browser send.
pub async fn same_origin_only(State(site): State<Arc<Site>>, request: Request, next: Next) -> Response {
    let changes_state = !matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if changes_state && !request.uri().path().starts_with("/api/v1/") && !from_this_site(request.headers(), &site) {
        return (
            StatusCode::FORBIDDEN,
            [(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"))],
            "Cross-site request refused: this request did not come from Keyward's own pages.",
        )
            .into_response();
    }
    next.run(request).await
}

fn from_this_site(headers: &HeaderMap, site: &Site) -> bool {
    let same_origin_fetch = headers.get("sec-fetch-site").is_some_and(|v| v.as_bytes() == b"same-origin");
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()).map(str::to_ascii_lowercase);
    same_origin_fetch || origin.is_some_and(|o| o == site.origin)
}

/// Headers on every answer: no sniffing, no framing (the reveal-token dialog must not be framed),
/// no referrer to other sites (invitation links carry a token; this site's own forms need it, to
/// come back to the page they were posted from when there is no JavaScript), and HSTS over HTTPS. Pages add their CSP and
/// `Cache-Control` themselves (see `app::ssr::page_headers`).
pub async fn standard_headers(State(site): State<Arc<Site>>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    if site.https {
        headers
            .insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000; includeSubDomains"));
    }
    // An HTML answer that did not set its own policy (an error page) still gets a strict one.
    let is_html = headers.get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    if is_html && !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(app::ssr::page_headers::STRICTEST));
        // A page that renders without its policy cannot hydrate: that is a bug, and says so (the
        // request's span names the path).
        if response.status().is_success() {
            tracing::warn!(status = %response.status(), "an HTML answer left without its page's policy");
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderName;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(HeaderName::from_bytes(name.as_bytes()).expect("name"), value.parse().expect("value"));
        }
        map
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn forwarded_headers_count_only_from_a_trusted_proxy() {
        let proxies = parse_trusted_proxies("10.0.0.0/8, 192.0.2.1").expect("valid");
        let spoofed = headers(&[("x-forwarded-for", "203.0.113.9")]);
        // A client that writes the header itself is still itself.
        assert_eq!(forwarded_client(ip("198.51.100.4"), &spoofed, &proxies), ip("198.51.100.4"));
        // Through the proxy: the address it received the request from.
        assert_eq!(forwarded_client(ip("10.1.2.3"), &spoofed, &proxies), ip("203.0.113.9"));
        // A client that prepends a lie: the nearest untrusted hop wins, not the first entry.
        let lying = headers(&[("x-forwarded-for", "1.2.3.4, 203.0.113.9, 192.0.2.1")]);
        assert_eq!(forwarded_client(ip("10.1.2.3"), &lying, &proxies), ip("203.0.113.9"));
        // Forwarded (RFC 7239), IPv6 with a port.
        let rfc = headers(&[("forwarded", "for=\"[2001:db8::7]:4711\";proto=https, for=192.0.2.1")]);
        assert_eq!(forwarded_client(ip("10.0.0.1"), &rfc, &proxies), ip("2001:db8::7"));
        // Without a header, the proxy itself.
        assert_eq!(forwarded_client(ip("10.0.0.1"), &HeaderMap::new(), &proxies), ip("10.0.0.1"));
        // Nothing trusted: the headers are ignored.
        assert_eq!(forwarded_client(ip("10.1.2.3"), &spoofed, &[]), ip("10.1.2.3"));
        assert!(parse_trusted_proxies("10.0.0.0/8, nonsense").is_err());
    }

    #[test]
    fn the_site_origin_comes_from_the_public_url_or_the_listen_address() {
        let listen: SocketAddr = "127.0.0.1:3000".parse().expect("addr");
        assert_eq!(Site::new(None, listen, vec![], false).expect("site").origin, "http://127.0.0.1:3000");
        let site = Site::new(Some("https://Keys.Example.com/dashboard"), listen, vec![], true).expect("site");
        assert_eq!(site.origin, "https://keys.example.com");
        assert!(Site::new(Some("ftp://x"), listen, vec![], false).is_err());
        assert!(from_this_site(&headers(&[("origin", "https://keys.example.com")]), &site));
        assert!(from_this_site(&headers(&[("sec-fetch-site", "same-origin")]), &site));
        assert!(!from_this_site(&headers(&[("origin", "https://evil.example.com")]), &site));
        assert!(!from_this_site(&headers(&[("origin", "https://sub.keys.example.com")]), &site));
        assert!(!from_this_site(&headers(&[("sec-fetch-site", "same-site")]), &site));
        assert!(!from_this_site(&HeaderMap::new(), &site));
    }
}
