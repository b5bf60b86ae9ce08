//! heapdrift's profile engine: the data model, profile.proto decode/encode,
//! Go's legacy text formats and goroutine dumps, and pprof's profile passes
//! (merge, scale, diff, filters, aggregation).
//!
//! Pure: bytes in, values out. No file or network I/O lives here.

// Decoders read untrusted bytes: a cast that can truncate or lose its sign must be explicit (cast_signed/cast_unsigned for wire reinterpretation, try_from where a value may not fit) or expected with a reason.
#![warn(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap
)]

pub mod civil;
pub mod error;
pub mod goroutine_dump;
pub mod gz;
pub mod legacy;
pub mod metrics;
pub mod model;
pub mod parse;
pub mod passes;
pub mod probe;
pub mod proto;
pub mod raw;
pub mod strconv;

pub use error::{ParseError, PathError, go_io_error};
pub use model::*;
pub use parse::{ParseOptions, Parsed, SourceFormat, parse};
