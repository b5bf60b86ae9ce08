//! profile.proto: a hand-written zero-copy decoder and an encoder.
//!
//! Both follow pprof's `profile/proto.go`, `encode.go` and `postDecode`:
//! the same wire-level strictness (unknown wire types and type mismatches
//! are errors, unknown fields are skipped), the same id resolution, and the
//! same string-table order on output, so `go tool pprof` reads what we write
//! and we read what it writes.
mod decode;
mod encode;
mod flat;
mod wire;

pub use decode::{decode, decode_filtered};
pub use encode::encode;
pub use flat::{
    FlatFunction, FlatLine, FlatLocation, FlatMapping, FlatProfile, FlatValueType, NO_INDEX,
};
