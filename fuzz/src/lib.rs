//! What the fuzz targets share: one runtime, the app's configurations with a fixed API key,
//! and a Cost Explorer client that can never reach AWS. All of it needs the `app` feature (the
//! default); oauth_tokens needs none of it.

#[cfg(feature = "app")]
mod app;
#[cfg(feature = "app")]
pub use app::*;
