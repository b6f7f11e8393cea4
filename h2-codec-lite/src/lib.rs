//! Placeholder; replaced below.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod error;
pub mod frame;

pub use error::{ErrorCode, ErrorScope, FrameError, HpackError, HpackErrorKind};
pub use frame::*;
