//! Redirect URIs: which may be registered, and when a presented one matches a registered one.
//!
//! Registrable: `https` URIs, `http` only on a loopback host (RFC 8252 §7.3, native apps), and
//! private-use schemes (`cursor://…`, RFC 8252 §7.1); never a fragment, userinfo, or a scheme a
//! browser would execute. Matching is exact string comparison, except that a loopback `http`
//! redirect matches on any port (Claude Code, Cursor and VS Code pick a free port per sign-in).

use url::Url;

/// Longest redirect URI accepted.
pub const MAX_URI_LEN: usize = 2048;

const FORBIDDEN_SCHEMES: &[&str] = &[
    "javascript",
    "data",
    "file",
    "vbscript",
    "about",
    "blob",
    "filesystem",
    "ftp",
    "ws",
    "wss",
];

fn loopback_host(url: &Url) -> bool {
    matches!(url.host_str(), Some("127.0.0.1" | "[::1]" | "localhost"))
}

fn is_loopback_http(url: &Url) -> bool {
    url.scheme() == "http" && loopback_host(url)
}

/// Why a redirect URI cannot be registered (the text goes to the client as
/// `error_description`).
pub fn check_registrable(uri: &str) -> Result<Url, String> {
    if uri.len() > MAX_URI_LEN {
        return Err(format!("redirect URI longer than {MAX_URI_LEN} characters"));
    }
    let url = Url::parse(uri).map_err(|e| format!("redirect URI {uri:?} is not a URI: {e}"))?;
    if url.fragment().is_some() {
        return Err(format!("redirect URI {uri:?} must not have a fragment"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "redirect URI {uri:?} must not carry user information"
        ));
    }
    match url.scheme() {
        "https" if url.host_str().is_some_and(|h| !h.is_empty()) => Ok(url),
        "https" => Err(format!("redirect URI {uri:?} has no host")),
        "http" if is_loopback_http(&url) => Ok(url),
        "http" => Err(format!(
            "redirect URI {uri:?}: http is only allowed on a loopback host (127.0.0.1, [::1], localhost); use https"
        )),
        s if FORBIDDEN_SCHEMES.contains(&s) => {
            Err(format!("redirect URI {uri:?} uses a forbidden scheme"))
        }
        _ => Ok(url),
    }
}

/// Whether `presented` is `registered` (exactly), or both are loopback `http` URIs that differ
/// only in the port.
pub fn matches(registered: &str, presented: &str) -> bool {
    if registered == presented {
        return true;
    }
    let (Ok(r), Ok(p)) = (Url::parse(registered), Url::parse(presented)) else {
        return false;
    };
    is_loopback_http(&r)
        && is_loopback_http(&p)
        && r.host_str() == p.host_str()
        && r.path() == p.path()
        && r.query() == p.query()
        && r.fragment().is_none()
        && p.fragment().is_none()
        && p.username().is_empty()
        && p.password().is_none()
}

/// The stage's allow-list for redirect URIs of dynamically registered and metadata-document
/// clients (`MCP_OAUTH_REDIRECT_URIS`): `*` matches any run of characters. Empty = no extra
/// restriction beyond [`check_registrable`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RedirectPolicy {
    pub patterns: Vec<String>,
}

impl RedirectPolicy {
    pub fn parse(list: &str) -> Self {
        Self {
            patterns: list
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(String::from)
                .collect(),
        }
    }

    pub fn allows(&self, uri: &str) -> bool {
        self.patterns.is_empty() || self.patterns.iter().any(|p| glob(p, uri))
    }

    /// [`check_registrable`] and then this policy.
    pub fn check(&self, uri: &str) -> Result<(), String> {
        check_registrable(uri)?;
        if self.allows(uri) {
            Ok(())
        } else {
            Err(format!(
                "redirect URI {uri:?} is not allowed on this server (see MCP_OAUTH_REDIRECT_URIS)"
            ))
        }
    }
}

/// `*` = any run of characters (including none); everything else literal.
fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || !text[first.len()..].ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_loopback_http_and_private_schemes_are_registrable() {
        for ok in [
            "https://claude.ai/api/mcp/auth_callback",
            "https://claude.com/api/mcp/auth_callback",
            "http://localhost:33418/callback",
            "http://127.0.0.1:6274/oauth/callback",
            "http://[::1]:8080/cb",
            "cursor://anysphere.cursor-retrieval/oauth/user-mcp/callback",
            "com.example.app:/oauth2redirect",
        ] {
            assert!(check_registrable(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn dangerous_or_sloppy_uris_are_refused() {
        for bad in [
            "http://example.com/cb",
            "http://localhost.evil.com/cb",
            "http://127.0.0.1.nip.io/cb",
            "https://claude.ai/cb#frag",
            "https://user:pw@claude.ai/cb",
            "javascript:alert(1)",
            "data:text/html,hi",
            "file:///etc/passwd",
            "not a uri",
            "/relative/path",
            "",
        ] {
            assert!(check_registrable(bad).is_err(), "{bad}");
        }
        assert!(
            check_registrable(&format!("https://a.example/{}", "x".repeat(MAX_URI_LEN))).is_err()
        );
    }

    #[test]
    fn matching_is_exact_except_loopback_ports() {
        let claude = "https://claude.ai/api/mcp/auth_callback";
        assert!(matches(claude, claude));
        assert!(!matches(claude, "https://claude.ai/api/mcp/auth_callback/"));
        assert!(!matches(
            claude,
            "https://claude.ai/api/mcp/auth_callback?x=1"
        ));
        assert!(!matches(
            claude,
            "https://claude.ai:444/api/mcp/auth_callback"
        ));
        assert!(!matches(claude, "HTTPS://claude.ai/api/mcp/auth_callback"));
        let loopback = "http://127.0.0.1/callback";
        assert!(matches(loopback, "http://127.0.0.1:51234/callback"));
        assert!(matches(
            "http://127.0.0.1:1000/callback",
            "http://127.0.0.1:2000/callback"
        ));
        assert!(!matches(loopback, "http://localhost:51234/callback"));
        assert!(!matches(loopback, "http://127.0.0.1:51234/other"));
        assert!(!matches(
            loopback,
            "http://127.0.0.1:51234/callback?next=evil"
        ));
        assert!(!matches(loopback, "https://127.0.0.1:51234/callback"));
        assert!(!matches(
            "https://example.com/cb",
            "https://example.com:8443/cb"
        ));
    }

    #[test]
    fn policy_patterns_restrict_registration() {
        let policy = RedirectPolicy::parse(" https://claude.ai/*, http://127.0.0.1:*/callback ,");
        assert_eq!(policy.patterns.len(), 2);
        assert!(
            policy
                .check("https://claude.ai/api/mcp/auth_callback")
                .is_ok()
        );
        assert!(policy.check("http://127.0.0.1:4242/callback").is_ok());
        assert!(policy.check("http://127.0.0.1:4242/other").is_err());
        assert!(policy.check("https://claude.ai.evil.com/cb").is_err());
        assert!(policy.check("https://evil.com/https://claude.ai/").is_err());
        // The policy never widens what is registrable.
        let loose = RedirectPolicy::parse("*");
        assert!(loose.check("javascript:alert(1)").is_err());
        assert!(
            RedirectPolicy::default()
                .check("https://anything.example/cb")
                .is_ok()
        );
    }

    #[test]
    fn glob_edges() {
        assert!(glob("a*", "a"));
        assert!(glob("*b", "ab"));
        assert!(glob("a*b*c", "aXbYc"));
        assert!(!glob("a*b*c", "aXcYb"));
        assert!(!glob("ab*ba", "aba"));
        assert!(glob("exact", "exact"));
        assert!(!glob("exact", "exact2"));
    }
}
