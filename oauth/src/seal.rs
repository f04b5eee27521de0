//! Sealed blobs: the facade's only state. A value is serialized to JSON with its expiry,
//! encrypted and authenticated with AES-256-GCM, and sent out (in a form, a URL, a client id, a
//! token). The purpose is authenticated too, so a blob made for one use (a code) never opens as
//! another (a refresh token).
//!
//! Wire form, base64url without padding: `version (1) | key id (4) | nonce (12) | ciphertext+tag`.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use ring::{
    aead::{Aad, NONCE_LEN, Nonce},
    rand::{SecureRandom, SystemRandom},
};
use serde::{Serialize, de::DeserializeOwned};

use crate::keys::Keyring;

const VERSION: u8 = 1;
const HEADER: usize = 1 + 4 + NONCE_LEN;
/// Longest blob accepted for opening: no legitimate blob comes near it, and it bounds the work
/// a hostile input can cause.
pub const MAX_SEALED_LEN: usize = 16 * 1024;

/// What a sealed blob is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// The authorization request, carried through the consent form.
    Consent,
    /// The `state` sent to Cognito and back to the callback.
    Upstream,
    /// The authorization code handed to the client.
    Code,
    Refresh,
    /// A dynamically registered client's id (its whole registration).
    Client,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Purpose::Consent => b"consent",
            Purpose::Upstream => b"upstream",
            Purpose::Code => b"code",
            Purpose::Refresh => b"refresh",
            Purpose::Client => b"client",
        }
    }
}

/// Why a blob did not open. Deliberately coarse: callers answer `invalid_grant` and the like
/// without telling an attacker which check failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    #[error("not a sealed value")]
    Malformed,
    #[error("sealed with a key that is not in use")]
    UnknownKey,
    #[error("altered, or sealed for another purpose")]
    Tampered,
    #[error("expired")]
    Expired,
}

#[derive(Serialize, serde::Deserialize)]
struct Envelope<T> {
    /// Expiry, Unix seconds.
    e: i64,
    v: T,
}

fn aad(purpose: Purpose, key_id: &[u8]) -> Vec<u8> {
    let mut aad = vec![VERSION];
    aad.extend_from_slice(key_id);
    aad.extend_from_slice(purpose.label());
    aad
}

impl Keyring {
    /// Seals `value` for `purpose` with the current key, valid until `expires_at` (Unix seconds).
    pub fn seal<T: Serialize>(&self, purpose: Purpose, value: &T, expires_at: i64) -> String {
        let key = &self.current;
        let mut plain = serde_json::to_vec(&Envelope {
            e: expires_at,
            v: value,
        })
        .expect("sealed values serialize");
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .expect("the OS random source works");
        key.seal
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad(purpose, &key.id)),
                &mut plain,
            )
            .expect("AES-GCM sealing of a small buffer");
        let mut out = Vec::with_capacity(HEADER + plain.len());
        out.push(VERSION);
        out.extend_from_slice(&key.id);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&plain);
        URL_SAFE_NO_PAD.encode(out)
    }

    /// Opens a blob sealed for `purpose` by the current or previous key, if not expired at `now`.
    pub fn open<T: DeserializeOwned>(
        &self,
        purpose: Purpose,
        sealed: &str,
        now: i64,
    ) -> Result<T, SealError> {
        if sealed.len() > MAX_SEALED_LEN {
            return Err(SealError::Malformed);
        }
        let mut raw = URL_SAFE_NO_PAD
            .decode(sealed)
            .map_err(|_| SealError::Malformed)?;
        if raw.len() < HEADER + 16 || raw[0] != VERSION {
            return Err(SealError::Malformed);
        }
        let key = self.by_id(&raw[1..5]).ok_or(SealError::UnknownKey)?;
        let nonce =
            Nonce::try_assume_unique_for_key(&raw[5..HEADER]).map_err(|_| SealError::Malformed)?;
        let aad = aad(purpose, &key.id);
        let plain = key
            .seal
            .open_in_place(nonce, Aad::from(aad), &mut raw[HEADER..])
            .map_err(|_| SealError::Tampered)?;
        let envelope: Envelope<T> =
            serde_json::from_slice(plain).map_err(|_| SealError::Tampered)?;
        if envelope.e < now {
            return Err(SealError::Expired);
        }
        Ok(envelope.v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::Key;

    fn ring(secret: u8) -> Keyring {
        Keyring::from_signing_key(&[secret; 32]).unwrap()
    }

    #[test]
    fn round_trip_before_expiry() {
        let keys = ring(1);
        let blob = keys.seal(Purpose::Code, &("alice", 7), 100);
        assert_eq!(
            keys.open::<(String, i32)>(Purpose::Code, &blob, 100),
            Ok(("alice".into(), 7))
        );
    }

    #[test]
    fn expired_blobs_are_refused() {
        let keys = ring(1);
        let blob = keys.seal(Purpose::Code, &1, 100);
        assert_eq!(
            keys.open::<i32>(Purpose::Code, &blob, 101),
            Err(SealError::Expired)
        );
    }

    #[test]
    fn every_flipped_bit_is_detected() {
        let keys = ring(1);
        let blob = keys.seal(Purpose::Refresh, &"x", 100);
        let raw = URL_SAFE_NO_PAD.decode(&blob).unwrap();
        for i in 0..raw.len() {
            let mut bad = raw.clone();
            bad[i] ^= 0x01;
            let bad = URL_SAFE_NO_PAD.encode(bad);
            assert!(
                keys.open::<String>(Purpose::Refresh, &bad, 0).is_err(),
                "byte {i}"
            );
        }
    }

    #[test]
    fn a_blob_for_one_purpose_does_not_open_as_another() {
        let keys = ring(1);
        let code = keys.seal(Purpose::Code, &"x", 100);
        assert_eq!(
            keys.open::<String>(Purpose::Refresh, &code, 0),
            Err(SealError::Tampered)
        );
        assert_eq!(
            keys.open::<String>(Purpose::Client, &code, 0),
            Err(SealError::Tampered)
        );
    }

    #[test]
    fn another_stages_key_cannot_open() {
        let blob = ring(1).seal(Purpose::Code, &"x", 100);
        assert_eq!(
            ring(2).open::<String>(Purpose::Code, &blob, 0),
            Err(SealError::UnknownKey)
        );
    }

    #[test]
    fn the_previous_key_opens_during_its_grace_and_not_after() {
        let old = ring(1);
        let blob = old.seal(Purpose::Refresh, &"x", 100);
        let rotated = Keyring::new(
            Key::derive(&[2; 32]).unwrap(),
            Some(Key::derive(&[1; 32]).unwrap()),
        );
        assert_eq!(
            rotated.open::<String>(Purpose::Refresh, &blob, 0),
            Ok("x".into())
        );
        // New blobs are sealed with the new key only.
        let fresh = rotated.seal(Purpose::Refresh, &"y", 100);
        assert_eq!(
            old.open::<String>(Purpose::Refresh, &fresh, 0),
            Err(SealError::UnknownKey)
        );
        // Grace over: the caller drops the previous key.
        let after_grace = Keyring::new(Key::derive(&[2; 32]).unwrap(), None);
        assert_eq!(
            after_grace.open::<String>(Purpose::Refresh, &blob, 0),
            Err(SealError::UnknownKey)
        );
    }

    #[test]
    fn garbage_is_malformed_not_a_panic() {
        let keys = ring(1);
        let long = "A".repeat(MAX_SEALED_LEN + 1);
        for bad in ["", "!!!", "AAAA", "AQ", &long] {
            assert!(
                keys.open::<String>(Purpose::Code, bad, 0).is_err(),
                "{bad:.20}"
            );
        }
    }

    #[test]
    fn sealing_twice_gives_different_blobs() {
        let keys = ring(1);
        assert_ne!(
            keys.seal(Purpose::Code, &1, 9),
            keys.seal(Purpose::Code, &1, 9)
        );
    }
}
