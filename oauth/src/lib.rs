//! The OAuth 2.1 facade's protocol logic, without I/O: what `function/src/http/oauth` needs to
//! act as the authorization server MCP clients see, with Cognito behind it (docs/oauth.md).
//!
//! - [`keys`]: the stage's keys (sealing, signing), current and previous.
//! - [`seal`]: the only state: values sealed with AES-256-GCM, purpose-bound, expiring.
//! - [`token`]: access tokens minted and verified here.
//! - [`pkce`], [`redirect`], [`client`] (pre-registered, DCR, CIMD), [`authorize`], [`metadata`].
#![forbid(unsafe_code)]

pub mod keys;
pub mod seal;
pub mod token;

pub use keys::{Key, Keyring, ShortKey};
pub use seal::{Purpose, SealError};
pub use token::{AccessClaims, TokenError};
pub mod authorize;
pub mod cimd;
pub mod client;
pub mod grant;
pub mod metadata;
pub mod pkce;
pub mod redirect;
