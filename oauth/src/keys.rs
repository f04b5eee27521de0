//! The stage's keys: one secret (from Secrets Manager) gives, through HKDF-SHA256, a sealing key
//! (AES-256-GCM), a token-signing key (HMAC-SHA256) and a short public key id. The previous
//! secret keeps opening and verifying during a rotation's grace period; only the current one
//! seals and signs.

use ring::{aead, hkdf};

/// Shortest accepted secret: 256 bits.
pub const MIN_SECRET_BYTES: usize = 32;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("the OAuth signing key must be at least {MIN_SECRET_BYTES} bytes (got {0})")]
pub struct ShortKey(pub usize);

/// Keys derived from one secret.
pub struct Key {
    /// Public: names the key in tokens (`kid`) and sealed blobs, so the right key is tried.
    pub(crate) id: [u8; 4],
    pub(crate) seal: aead::LessSafeKey,
    pub(crate) sign: [u8; 32],
}

// Key material must never reach a log through `{:?}`.
impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key")
            .field("id", &self.kid())
            .finish_non_exhaustive()
    }
}

struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

fn expand(prk: &hkdf::Prk, label: &[u8], out: &mut [u8]) {
    prk.expand(&[label], Len(out.len()))
        .and_then(|okm| okm.fill(out))
        .expect("HKDF output lengths are fixed and small");
}

impl Key {
    pub fn derive(secret: &[u8]) -> Result<Self, ShortKey> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(ShortKey(secret.len()));
        }
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, b"serverless-mcp oauth v1").extract(secret);
        let mut id = [0u8; 4];
        let mut seal = [0u8; 32];
        let mut sign = [0u8; 32];
        expand(&prk, b"key id", &mut id);
        expand(&prk, b"seal", &mut seal);
        expand(&prk, b"sign", &mut sign);
        let seal = aead::UnboundKey::new(&aead::AES_256_GCM, &seal).expect("32-byte AES key");
        Ok(Self {
            id,
            seal: aead::LessSafeKey::new(seal),
            sign,
        })
    }

    pub fn kid(&self) -> String {
        self.id.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// The keys in use: `current` seals and signs; `previous` (inside its grace period) still opens
/// and verifies.
#[derive(Debug)]
pub struct Keyring {
    pub(crate) current: Key,
    pub(crate) previous: Option<Key>,
}

impl Keyring {
    pub fn new(current: Key, previous: Option<Key>) -> Self {
        Self { current, previous }
    }

    /// A keyring of one key, from the secret's bytes.
    pub fn from_signing_key(secret: &[u8]) -> Result<Self, ShortKey> {
        Ok(Self::new(Key::derive(secret)?, None))
    }

    /// The key with this id, current first.
    pub(crate) fn by_id(&self, id: &[u8]) -> Option<&Key> {
        std::iter::once(&self.current)
            .chain(self.previous.as_ref())
            .find(|k| k.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_secrets_are_refused() {
        assert_eq!(Key::derive(&[7; 31]).unwrap_err(), ShortKey(31));
        assert!(Key::derive(&[7; 32]).is_ok());
    }

    #[test]
    fn derivation_is_stable_and_distinct_per_secret() {
        let a = Key::derive(&[1; 32]).unwrap();
        let b = Key::derive(&[1; 32]).unwrap();
        let c = Key::derive(&[2; 32]).unwrap();
        assert_eq!(a.kid(), b.kid());
        assert_eq!(a.sign, b.sign);
        assert_ne!(a.kid(), c.kid());
        assert_ne!(a.sign, c.sign);
    }

    #[test]
    fn debug_shows_only_the_key_id() {
        let key = Key::derive(&[9; 32]).unwrap();
        let text = format!("{key:?}");
        assert!(text.contains(&key.kid()));
        assert!(!text.contains(&format!("{:?}", key.sign)));
    }
}
