//! Access tokens: JWTs (RFC 9068 profile, `typ: at+jwt`) the facade mints and verifies itself,
//! HMAC-SHA256 with the stage's signing key. Issuer and verifier are the same function, so a
//! shared key is enough, and verification is one HMAC: no network, no JWKS at cold start.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, errors::ErrorKind};
use serde::{Deserialize, Serialize};

use crate::keys::Keyring;

/// The JOSE `typ` of our access tokens (RFC 9068): an ID token or any other JWT is refused.
pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";
/// Clock skew tolerated on `exp` and `nbf`.
pub const LEEWAY_SECONDS: u64 = 30;
/// Longest token examined at all.
pub const MAX_TOKEN_LEN: usize = 8 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    /// The canonical MCP URL this token is for.
    pub aud: String,
    /// The Cognito user (`sub`).
    pub sub: String,
    pub client_id: String,
    /// Space-separated granted scopes.
    pub scope: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: String,
    /// The user's name or email, for logs and tools; not an authorization input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
}

impl AccessClaims {
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scope.split(' ').any(|s| s == scope)
    }
}

/// Why a token was refused. The caller answers `invalid_token` for all of them; the variant is
/// for tests and a reason label in logs (never the token).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("not a JWT")]
    Malformed,
    #[error("algorithm not allowed")]
    Algorithm,
    #[error("not an access token")]
    Type,
    #[error("unknown key")]
    UnknownKey,
    #[error("bad signature")]
    Signature,
    #[error("expired")]
    Expired,
    #[error("not yet valid")]
    NotYetValid,
    #[error("wrong issuer")]
    Issuer,
    #[error("wrong audience")]
    Audience,
    #[error("bad claims")]
    Claims,
}

impl TokenError {
    pub fn reason(&self) -> &'static str {
        match self {
            TokenError::Malformed => "malformed",
            TokenError::Algorithm => "algorithm",
            TokenError::Type => "type",
            TokenError::UnknownKey => "unknown_key",
            TokenError::Signature => "signature",
            TokenError::Expired => "expired",
            TokenError::NotYetValid => "not_yet_valid",
            TokenError::Issuer => "issuer",
            TokenError::Audience => "audience",
            TokenError::Claims => "claims",
        }
    }
}

impl Keyring {
    /// Signs an access token with the current key.
    pub fn sign_access_token(&self, claims: &AccessClaims) -> String {
        let mut header = Header::new(Algorithm::HS256);
        header.typ = Some(ACCESS_TOKEN_TYPE.into());
        header.kid = Some(self.current.kid());
        jsonwebtoken::encode(
            &header,
            claims,
            &EncodingKey::from_secret(&self.current.sign),
        )
        .expect("HS256 signing of plain claims")
    }

    /// Verifies an access token for this issuer and audience: HS256 only, our `typ`, a key in
    /// use, the signature, `exp`/`nbf` with [`LEEWAY_SECONDS`], issuer and audience exactly.
    pub fn verify_access_token(
        &self,
        token: &str,
        issuer: &str,
        audience: &str,
    ) -> Result<AccessClaims, TokenError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Malformed);
        }
        // `decode_header` refuses `alg: none` and unknown algorithms outright.
        let header = jsonwebtoken::decode_header(token).map_err(|e| match e.kind() {
            ErrorKind::InvalidAlgorithmName => TokenError::Algorithm,
            _ => TokenError::Malformed,
        })?;
        if header.alg != Algorithm::HS256 {
            return Err(TokenError::Algorithm);
        }
        if header.typ.as_deref() != Some(ACCESS_TOKEN_TYPE) {
            return Err(TokenError::Type);
        }
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| {
                std::iter::once(&self.current)
                    .chain(self.previous.as_ref())
                    .find(|k| k.kid() == kid)
            })
            .ok_or(TokenError::UnknownKey)?;
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECONDS;
        validation.validate_nbf = true;
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        jsonwebtoken::decode::<AccessClaims>(
            token,
            &DecodingKey::from_secret(&key.sign),
            &validation,
        )
        .map(|data| data.claims)
        .map_err(|e| match e.kind() {
            ErrorKind::InvalidSignature => TokenError::Signature,
            ErrorKind::ExpiredSignature => TokenError::Expired,
            ErrorKind::ImmatureSignature => TokenError::NotYetValid,
            ErrorKind::InvalidIssuer => TokenError::Issuer,
            ErrorKind::InvalidAudience => TokenError::Audience,
            ErrorKind::InvalidAlgorithm => TokenError::Algorithm,
            ErrorKind::InvalidToken | ErrorKind::Base64(_) | ErrorKind::Utf8(_) => {
                TokenError::Malformed
            }
            _ => TokenError::Claims,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    use serde_json::json;

    const ISS: &str = "https://mcp.example.com/dev";
    const AUD: &str = "https://mcp.example.com/dev/mcp";

    fn now() -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
    }

    fn claims() -> AccessClaims {
        let now = now();
        AccessClaims {
            iss: ISS.into(),
            aud: AUD.into(),
            sub: "user-1".into(),
            client_id: "client".into(),
            scope: "mcp:tools offline_access".into(),
            iat: now,
            nbf: now,
            exp: now + 600,
            jti: "j1".into(),
            username: None,
        }
    }

    fn keys() -> Keyring {
        Keyring::from_signing_key(&[1; 32]).unwrap()
    }

    fn verify(token: &str) -> Result<AccessClaims, TokenError> {
        keys().verify_access_token(token, ISS, AUD)
    }

    /// A token with any header and claims, signed with `secret` (HS256) or not at all.
    fn forge(header: serde_json::Value, claims: &AccessClaims, secret: Option<&[u8]>) -> String {
        let head = URL_SAFE_NO_PAD.encode(header.to_string());
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_string(claims).unwrap());
        let input = format!("{head}.{body}");
        let sig = match secret {
            Some(secret) => {
                let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
                URL_SAFE_NO_PAD.encode(ring::hmac::sign(&key, input.as_bytes()))
            }
            None => String::new(),
        };
        format!("{input}.{sig}")
    }

    #[test]
    fn a_minted_token_verifies_and_keeps_its_claims() {
        let c = claims();
        let token = keys().sign_access_token(&c);
        assert_eq!(verify(&token), Ok(c));
    }

    #[test]
    fn scope_is_matched_word_by_word() {
        let mut c = claims();
        c.scope = "mcp:toolsX offline_access".into();
        assert!(!c.has_scope("mcp:tools"));
        c.scope = "offline_access mcp:tools".into();
        assert!(c.has_scope("mcp:tools"));
    }

    #[test]
    fn alg_none_is_refused() {
        let kid = keys().current.kid();
        for alg in ["none", "None", "NONE"] {
            let token = forge(
                json!({"alg": alg, "typ": "at+jwt", "kid": kid}),
                &claims(),
                None,
            );
            // jsonwebtoken has no `none` algorithm: the header itself does not parse.
            assert_eq!(verify(&token), Err(TokenError::Malformed), "{alg}");
        }
    }

    #[test]
    fn rs256_and_other_algorithms_are_refused_even_with_a_valid_hmac() {
        // HS/RS confusion: a token claiming RS256 (or HS512) whose "signature" is an HMAC with
        // our key must still fail: only HS256 is allowed.
        let kid = keys().current.kid();
        for alg in ["RS256", "ES256", "HS512", "PS256", "EdDSA"] {
            let token = forge(
                json!({"alg": alg, "typ": "at+jwt", "kid": kid}),
                &claims(),
                Some(&keys().current.sign),
            );
            assert_eq!(verify(&token), Err(TokenError::Algorithm), "{alg}");
        }
    }

    #[test]
    fn an_id_token_or_untyped_jwt_is_refused() {
        let kid = keys().current.kid();
        let sign = keys().current.sign;
        for typ in [json!("JWT"), json!("id_token"), json!(null)] {
            let token = forge(
                json!({"alg": "HS256", "typ": typ, "kid": kid}),
                &claims(),
                Some(&sign),
            );
            assert_eq!(verify(&token), Err(TokenError::Type), "{typ}");
        }
    }

    #[test]
    fn unknown_or_missing_kid_is_refused() {
        let sign = keys().current.sign;
        let token = forge(
            json!({"alg": "HS256", "typ": "at+jwt", "kid": "deadbeef"}),
            &claims(),
            Some(&sign),
        );
        assert_eq!(verify(&token), Err(TokenError::UnknownKey));
        let token = forge(
            json!({"alg": "HS256", "typ": "at+jwt"}),
            &claims(),
            Some(&sign),
        );
        assert_eq!(verify(&token), Err(TokenError::UnknownKey));
    }

    #[test]
    fn a_wrong_signature_is_refused() {
        let kid = keys().current.kid();
        let token = forge(
            json!({"alg": "HS256", "typ": "at+jwt", "kid": kid}),
            &claims(),
            Some(&[9; 32]),
        );
        assert_eq!(verify(&token), Err(TokenError::Signature));
        let mut token = keys().sign_access_token(&claims());
        let last = token.pop().unwrap();
        token.push(if last == 'A' { 'B' } else { 'A' });
        assert_eq!(verify(&token), Err(TokenError::Signature));
    }

    #[test]
    fn another_stages_key_is_unknown() {
        let other = Keyring::from_signing_key(&[2; 32]).unwrap();
        assert_eq!(
            verify(&other.sign_access_token(&claims())),
            Err(TokenError::UnknownKey)
        );
    }

    #[test]
    fn expiry_and_not_before_apply_with_a_small_leeway() {
        let mut c = claims();
        c.exp = now() - LEEWAY_SECONDS as i64 - 5;
        assert_eq!(
            verify(&keys().sign_access_token(&c)),
            Err(TokenError::Expired)
        );
        c.exp = now() - 5; // within the leeway
        assert!(verify(&keys().sign_access_token(&c)).is_ok());
        let mut c = claims();
        c.nbf = now() + LEEWAY_SECONDS as i64 + 60;
        assert_eq!(
            verify(&keys().sign_access_token(&c)),
            Err(TokenError::NotYetValid)
        );
    }

    #[test]
    fn issuer_and_audience_must_match_exactly() {
        let mut c = claims();
        c.aud = "https://mcp.example.com/prod/mcp".into();
        assert_eq!(
            verify(&keys().sign_access_token(&c)),
            Err(TokenError::Audience)
        );
        let mut c = claims();
        c.aud = format!("{AUD}/");
        assert_eq!(
            verify(&keys().sign_access_token(&c)),
            Err(TokenError::Audience)
        );
        let mut c = claims();
        c.iss = "https://evil.example.com".into();
        assert_eq!(
            verify(&keys().sign_access_token(&c)),
            Err(TokenError::Issuer)
        );
    }

    #[test]
    fn garbage_is_malformed() {
        let long = "a".repeat(MAX_TOKEN_LEN + 1);
        for bad in ["", "abc", "a.b.c", "....", &long] {
            assert!(verify(bad).is_err(), "{bad:.20}");
        }
    }

    #[test]
    fn tokens_from_the_previous_key_verify_during_grace() {
        use crate::keys::Key;
        let old = keys().sign_access_token(&claims());
        let rotated = Keyring::new(
            Key::derive(&[3; 32]).unwrap(),
            Some(Key::derive(&[1; 32]).unwrap()),
        );
        assert!(rotated.verify_access_token(&old, ISS, AUD).is_ok());
    }
}
