//! Stands in for `function::tools`, so the guide's example compiles as it would there.

pub use function::tools::*;
pub mod word_count;
