//! Client ID Metadata Documents: which `client_id` URLs may be fetched, and which addresses
//! the fetch may connect to (public ones only: a hostile client id must not make the function
//! probe its own VPC, the instance metadata service or loopback).

use std::net::IpAddr;

use url::Url;

/// Longest client id URL considered.
pub const MAX_URL_LEN: usize = 2048;

/// Whether a client id is meant as a metadata document URL (then it must pass
/// [`check_client_id_url`]).
pub fn is_metadata_url(client_id: &str) -> bool {
    client_id.starts_with("https://") || client_id.starts_with("http://")
}

/// Checks a client id URL: https, a domain name or public address, no userinfo, no fragment,
/// a path (not just `/`), no dot segments. `allow_http_loopback` (tests only) also admits
/// `http://127.0.0.1:<port>/…`.
pub fn check_client_id_url(client_id: &str, allow_http_loopback: bool) -> Result<Url, String> {
    if client_id.len() > MAX_URL_LEN {
        return Err("client_id URL is too long".into());
    }
    let url = Url::parse(client_id).map_err(|_| "client_id is not a valid URL".to_owned())?;
    // `Url` normalises dot segments and case: the id must already be in normal form, so the
    // document's own `client_id` can be compared as a string.
    if url.as_str() != client_id {
        return Err("client_id URL is not in normal form".into());
    }
    if !url.username().is_empty() || url.password().is_some() || url.fragment().is_some() {
        return Err("client_id URL must not have user information or a fragment".into());
    }
    if url.path() == "/" || url.path().is_empty() {
        return Err("client_id URL must have a path".into());
    }
    let loopback_http =
        allow_http_loopback && url.scheme() == "http" && url.host_str() == Some("127.0.0.1");
    if url.scheme() != "https" && !loopback_http {
        return Err("client_id URL must use https".into());
    }
    match url.host() {
        Some(url::Host::Domain(d)) if d == "localhost" || d.ends_with(".localhost") => {
            Err("client_id URL must not point to localhost".into())
        }
        Some(url::Host::Domain(_)) => Ok(url),
        Some(url::Host::Ipv4(ip)) if loopback_http || is_public_address(IpAddr::V4(ip)) => Ok(url),
        Some(url::Host::Ipv6(ip)) if is_public_address(IpAddr::V6(ip)) => Ok(url),
        _ => Err("client_id URL must name a public host".into()),
    }
}

/// Whether an address is on the public internet (not loopback, private, link-local — which
/// includes 169.254.169.254 —, shared, multicast, documentation or otherwise reserved).
pub fn is_public_address(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_unspecified()
                || v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_multicast()
                || a == 0
                || a >= 240
                || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
                || (a == 192 && b == 0)
                || (a == 198 && (18..20).contains(&b)))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_address(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_unspecified()
                || v6.is_loopback()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80 // link local
                || first == 0x2001 && v6.segments()[1] == 0x0db8 // documentation
                || first == 0x0064 // NAT64 well-known prefix
                || first == 0x2002) // 6to4 (embeds any v4 address)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_client_id_urls() {
        for ok in [
            "https://app.example/oauth/client.json",
            "https://chatgpt.com/oauth/abc/client.json",
            "https://8.8.8.8/c.json",
        ] {
            assert!(check_client_id_url(ok, false).is_ok(), "{ok}");
        }
    }

    #[test]
    fn hostile_client_id_urls() {
        for bad in [
            "http://app.example/c.json",
            "https://app.example",
            "https://app.example/",
            "https://user@app.example/c.json",
            "https://app.example/c.json#x",
            "https://app.example/a/../c.json",
            "https://APP.example/c.json",
            "https://localhost/c.json",
            "https://x.localhost/c.json",
            "https://127.0.0.1/c.json",
            "https://10.0.0.1/c.json",
            "https://169.254.169.254/latest/meta-data",
            "https://[::1]/c.json",
            "https://[fd00::1]/c.json",
            "https://[::ffff:127.0.0.1]/c.json",
            "https://0x7f000001/c.json",
            "ftp://app.example/c.json",
            "https:///c.json",
        ] {
            assert!(check_client_id_url(bad, false).is_err(), "{bad}");
        }
        assert!(
            check_client_id_url(
                &format!("https://a.example/{}", "x".repeat(MAX_URL_LEN)),
                false
            )
            .is_err()
        );
    }

    #[test]
    fn loopback_http_only_when_allowed_for_tests() {
        let url = "http://127.0.0.1:4000/client.json";
        assert!(check_client_id_url(url, false).is_err());
        assert!(check_client_id_url(url, true).is_ok());
        assert!(check_client_id_url("http://10.0.0.1:4000/client.json", true).is_err());
    }

    #[test]
    fn address_classes() {
        for public in ["8.8.8.8", "1.1.1.1", "2606:4700::1111", "52.94.236.248"] {
            assert!(is_public_address(public.parse().unwrap()), "{public}");
        }
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fe80::1",
            "fc00::1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
            "2002:a00:1::",
            "192.0.0.8",
            "198.18.0.1",
        ] {
            assert!(!is_public_address(private.parse().unwrap()), "{private}");
        }
    }
}
