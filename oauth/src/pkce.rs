//! PKCE (RFC 7636), S256 only: the only method MCP allows and the facade advertises.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use ring::digest::{SHA256, digest};

fn unreserved(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// A code challenge as S256 makes it: 43 base64url characters (a SHA-256 digest).
pub fn is_s256_challenge(challenge: &str) -> bool {
    challenge.len() == 43
        && URL_SAFE_NO_PAD
            .decode(challenge)
            .is_ok_and(|d| d.len() == 32)
}

/// Whether `verifier` is well formed (43 to 128 unreserved characters) and hashes to `challenge`.
pub fn verify_s256(verifier: &str, challenge: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && unreserved(verifier)
        && URL_SAFE_NO_PAD.encode(digest(&SHA256, verifier.as_bytes())) == challenge
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn the_rfc_example_verifies() {
        assert!(is_s256_challenge(CHALLENGE));
        assert!(verify_s256(VERIFIER, CHALLENGE));
    }

    #[test]
    fn wrong_short_long_or_odd_verifiers_fail() {
        assert!(!verify_s256(&VERIFIER.replace('d', "e"), CHALLENGE));
        assert!(!verify_s256("short", CHALLENGE));
        assert!(!verify_s256(&"a".repeat(129), CHALLENGE));
        assert!(!verify_s256(&format!("{VERIFIER} "), CHALLENGE));
        // The challenge itself is not a verifier (a "plain" downgrade).
        assert!(!verify_s256(CHALLENGE, CHALLENGE));
    }

    #[test]
    fn plain_challenges_are_not_s256() {
        assert!(!is_s256_challenge("plain-challenge"));
        assert!(!is_s256_challenge(&"!".repeat(43)));
    }
}
