//! Arbitrary strings → what the OAuth facade reads from clients: access tokens, sealed blobs
//! (codes, refresh tokens, consent, state, DCR client ids), redirect URIs and policies, PKCE,
//! client metadata, /authorize and /token parameters. Never a panic; whatever is sealed or
//! signed opens or verifies again, for its own purpose only.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use oauth::{
    AccessClaims, Key, Keyring, Purpose, SealError,
    authorize::{self, AuthorizeQuery},
    cimd,
    client::{self, Client},
    grant::{self, TokenForm},
    pkce,
    redirect::{self, RedirectPolicy},
};
use serde_json::Value;

const NOW: i64 = 1_800_000_000;
const BASE: &str = "https://mcp.example.com";
const AUDIENCE: &str = "https://mcp.example.com/mcp";
const PURPOSES: [Purpose; 5] = [
    Purpose::Consent,
    Purpose::Upstream,
    Purpose::Code,
    Purpose::Refresh,
    Purpose::Client,
];

/// A current and a previous key, as during a rotation.
fn keys() -> &'static Keyring {
    static KEYS: OnceLock<Keyring> = OnceLock::new();
    KEYS.get_or_init(|| {
        let key = |byte| Key::derive(&[byte; 32]).expect("32 bytes are enough");
        Keyring::new(key(1), Some(key(2)))
    })
}

/// `name=value` pairs split on `&`, as a decoded query or form would give them.
fn pairs(text: &str) -> Vec<(&str, &str)> {
    text.split('&')
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let keys = keys();
    // Bytes first: the metadata parsers take the body as it came.
    let policy = RedirectPolicy::parse("https://*.example.com/*, http://127.0.0.1:*/*");
    let _ = client::parse_metadata_document(data, "https://client.example.com/meta.json", &policy);
    if let Ok(client) = client::register(data, &policy, keys, NOW) {
        let reopened = client::open_dynamic(&client.client_id, keys, NOW + 1);
        assert_eq!(
            reopened.as_ref(),
            Some(&client),
            "a registered client reopens"
        );
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };

    let _ = keys.verify_access_token(text, BASE, AUDIENCE);
    for purpose in PURPOSES {
        let _ = keys.open::<Value>(purpose, text, NOW);
    }
    let _ = client::open_dynamic(text, keys, NOW);
    let _ = client::parse_preregistered(text);
    let _ = grant::identity_from_id_token(text);
    let _ = redirect::check_registrable(text);
    let _ = redirect::matches("http://127.0.0.1/callback", text);
    let _ = redirect::matches(text, "http://127.0.0.1:8080/callback");
    let _ = policy.check(text);
    let _ = cimd::check_client_id_url(text, false);
    let _ = cimd::check_client_id_url(text, true);
    let _ = pkce::is_s256_challenge(text);
    let _ = pkce::verify_s256(text, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    // A policy from the first line, a URI from the rest: the glob matcher on both sides.
    if let Some((patterns, uri)) = text.split_once('\n') {
        let _ = RedirectPolicy::parse(patterns).check(uri);
    }

    let client = Client {
        client_id: "fuzz-client".into(),
        client_name: None,
        redirect_uris: vec!["http://127.0.0.1/callback".into()],
    };
    if let Ok(query) = AuthorizeQuery::from_pairs(pairs(text)) {
        let _ = authorize::check(&query, &client, BASE);
    }
    if let Ok(form) = TokenForm::from_pairs(pairs(text)) {
        let _ = grant::check_code(&form, keys, NOW);
        let _ = grant::check_refresh(&form, keys, NOW);
    }

    // Round trips: the text sealed opens for its purpose only; a token about it verifies.
    let sealed = keys.seal(Purpose::Code, &text, NOW + 60);
    assert_eq!(
        keys.open::<String>(Purpose::Code, &sealed, NOW).as_deref(),
        Ok(text)
    );
    assert_eq!(
        keys.open::<String>(Purpose::Refresh, &sealed, NOW),
        Err(SealError::Tampered)
    );
    // jsonwebtoken checks `exp` and `nbf` against the real clock.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64;
    let claims = AccessClaims {
        iss: BASE.into(),
        aud: AUDIENCE.into(),
        sub: text.into(),
        client_id: "fuzz-client".into(),
        scope: "mcp:tools".into(),
        iat: now,
        nbf: now,
        exp: now + 3600,
        jti: "jti".into(),
        username: None,
    };
    let token = keys.sign_access_token(&claims);
    if token.len() <= oauth::token::MAX_TOKEN_LEN {
        let verified = keys.verify_access_token(&token, BASE, AUDIENCE);
        assert_eq!(verified.map(|c| c.sub), Ok(text.to_owned()));
    }
});
