//! Host and Origin allow-lists for `/mcp` (DNS-rebinding protection, MCP transport spec).
//! Pure functions over header values, and [`refusal`], which applies them to a request.

use axum::{
    extract::Request,
    http::{StatusCode, header},
    response::Response,
};

use super::error_response;
use crate::config::AppConfig;

/// A parsed `host[:port]`: the host without brackets or trailing dots (compared without
/// regard to ASCII case), borrowed from the header, so a request costs no allocation.
#[derive(Clone, Copy)]
struct Authority<'a> {
    host: &'a str,
    port: Option<u16>,
}

impl Authority<'_> {
    fn same_host(&self, other: &Authority) -> bool {
        self.host.eq_ignore_ascii_case(other.host)
    }
}

/// `host`, `host:port`, `[v6]`, `[v6]:port` or a bare IPv6 literal; `None` if unparsable.
fn split_authority(authority: &str) -> Option<Authority<'_>> {
    let authority = authority.trim();
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (v6, after) = rest.split_once(']')?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':')?),
        };
        if !v6.contains(':') {
            return None; // brackets hold only IPv6 literals
        }
        (v6, port)
    } else if authority.bytes().filter(|&b| b == b':').count() > 1 {
        (authority, None) // a bare IPv6 literal
    } else {
        match authority.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    let port = match port {
        Some(p) => Some(p.parse::<u16>().ok()?),
        None => None,
    };
    let host = host.trim_end_matches('.');
    // Only what a DNS name or an IP literal holds: `evil@h` or `h/x` would otherwise pass a
    // `*.suffix` pattern.
    let valid = host
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b':' | b'_'));
    (valid && !host.is_empty()).then_some(Authority { host, port })
}

/// Is `host` a subdomain of `suffix` (at least one label before it), ignoring ASCII case?
fn is_subdomain_of(host: &str, suffix: &str) -> bool {
    let (host, suffix) = (host.as_bytes(), suffix.as_bytes());
    host.len() > suffix.len() + 1
        && host[host.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
        && host[host.len() - suffix.len() - 1] == b'.'
}

/// Does `host_header` match one of `patterns`? A pattern is `host` (any port), `host:port`,
/// or `*.suffix` (any subdomain of suffix, any port). An unparsable header never matches.
pub fn host_allowed(host_header: &str, patterns: &[String]) -> bool {
    let Some(host) = split_authority(host_header) else {
        return false;
    };
    patterns.iter().any(|pattern| {
        if let Some(suffix) = pattern.strip_prefix("*.") {
            return is_subdomain_of(host.host, suffix);
        }
        match split_authority(pattern) {
            Some(p) => p.same_host(&host) && (p.port.is_none() || p.port == host.port),
            None => false,
        }
    })
}

fn default_port(scheme: &str) -> Option<u16> {
    if scheme.eq_ignore_ascii_case("http") {
        Some(80)
    } else if scheme.eq_ignore_ascii_case("https") {
        Some(443)
    } else {
        None
    }
}

/// Does a browser `Origin` match one of `patterns` (`scheme://host[:port]`, port `*` = any,
/// no port = the scheme's default)? `null` matches only the pattern `null`.
pub fn origin_allowed(origin: &str, patterns: &[String]) -> bool {
    let origin = origin.trim();
    if origin.eq_ignore_ascii_case("null") {
        return patterns.iter().any(|p| p == "null");
    }
    let Some((scheme, authority)) = origin.split_once("://") else {
        return false;
    };
    let Some(mut origin) = split_authority(authority) else {
        return false;
    };
    origin.port = origin.port.or_else(|| default_port(scheme));
    patterns.iter().any(|pattern| {
        let Some((p_scheme, p_authority)) = pattern.split_once("://") else {
            return false;
        };
        if !p_scheme.eq_ignore_ascii_case(scheme) {
            return false;
        }
        if let Some(p_host) = p_authority.strip_suffix(":*") {
            return split_authority(p_host).is_some_and(|p| p.same_host(&origin));
        }
        split_authority(p_authority).is_some_and(|p| {
            p.same_host(&origin) && p.port.or_else(|| default_port(scheme)) == origin.port
        })
    })
}

/// DNS-rebinding protection: only listed Hosts, and only listed browser Origins. Every Host
/// and Origin a request carries is checked (a second, unchecked one must not ride along), and
/// an absolute-form target's authority too, as servers must use it instead of Host (RFC 9112
/// section 3.2.2).
pub fn refusal(config: &AppConfig, request: &Request) -> Option<Response> {
    let headers = request.headers();
    let forbidden = |message| Some(error_response(StatusCode::FORBIDDEN, "forbidden", message));
    if headers.get_all(header::HOST).iter().count() > 1 {
        return Some(error_response(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "Send exactly one Host header.",
        ));
    }
    let allowed = |host: &str| host_allowed(host, &config.allowed_hosts);
    // The request must name a host, and every one it names (Host, an absolute-form target's
    // authority) must be allowed; an unreadable Host header is not.
    let host_ok = match (headers.get(header::HOST), request.uri().authority()) {
        (None, None) => false,
        (host, authority) => {
            host.is_none_or(|h| h.to_str().is_ok_and(allowed))
                && authority.is_none_or(|a| allowed(a.as_str()))
        }
    };
    if !host_ok {
        return forbidden("Host header is not allowed.");
    }
    if config.allowed_origins.is_empty() {
        return None;
    }
    let mut origins = headers.get_all(header::ORIGIN).iter();
    let first = origins.next();
    if origins.next().is_some()
        || first.is_some_and(|o| {
            !o.to_str()
                .is_ok_and(|o| origin_allowed(o, &config.allowed_origins))
        })
    {
        return forbidden("Origin is not allowed.");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn loopback_hosts_match_with_any_port() {
        let allowed = list(&["localhost", "127.0.0.1", "[::1]"]);
        for ok in [
            "localhost",
            "localhost:8080",
            "LOCALHOST.",
            "127.0.0.1:1",
            "[::1]:8080",
            "[::1]",
        ] {
            assert!(host_allowed(ok, &allowed), "{ok}");
        }
        for bad in [
            "evil.com",
            "localhost.evil.com",
            "127.0.0.2",
            "",
            "localhost:notaport",
            "[::1",
            "[localhost]",
            "[::2]:8080",
        ] {
            assert!(!host_allowed(bad, &allowed), "{bad}");
        }
    }

    #[test]
    fn ports_in_patterns_are_exact() {
        let allowed = list(&["example.com:8443"]);
        assert!(host_allowed("example.com:8443", &allowed));
        assert!(!host_allowed("example.com", &allowed));
        assert!(!host_allowed("example.com:443", &allowed));
    }

    #[test]
    fn wildcard_patterns_match_subdomains_only() {
        let allowed = list(&["*.lambda-url.us-east-1.on.aws"]);
        assert!(host_allowed("abc123.lambda-url.us-east-1.on.aws", &allowed));
        assert!(host_allowed(
            "ABC.Lambda-Url.us-east-1.on.aws:443",
            &allowed
        ));
        assert!(!host_allowed("lambda-url.us-east-1.on.aws", &allowed));
        assert!(!host_allowed("evillambda-url.us-east-1.on.aws", &allowed));
        assert!(!host_allowed(
            "abc.lambda-url.us-east-1.on.aws.evil.com",
            &allowed
        ));
        assert!(!host_allowed("abc.lambda-url.eu-west-1.on.aws", &allowed));
        assert!(!host_allowed(
            "evil@abc.lambda-url.us-east-1.on.aws",
            &allowed
        ));
        assert!(!host_allowed("x/abc.lambda-url.us-east-1.on.aws", &allowed));
    }

    #[test]
    fn origins_match_scheme_host_and_port() {
        let allowed = list(&["http://localhost:*", "https://claude.ai"]);
        assert!(origin_allowed("http://localhost:6274", &allowed));
        assert!(origin_allowed("http://localhost", &allowed));
        assert!(origin_allowed("https://claude.ai", &allowed));
        assert!(origin_allowed("https://claude.ai:443", &allowed));
        assert!(!origin_allowed("https://claude.ai:8443", &allowed));
        assert!(!origin_allowed("https://localhost:6274", &allowed));
        assert!(!origin_allowed("http://evil.com", &allowed));
        assert!(!origin_allowed("null", &allowed));
        assert!(!origin_allowed("garbage", &allowed));
        assert!(origin_allowed("null", &list(&["null"])));
    }
}
