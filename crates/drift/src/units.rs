//! Units of heapdrift's own output.

use serde::{Deserialize, Serialize};

/// What a finding's values and growth count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    Bytes,
    Goroutines,
}

impl Unit {
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Bytes => "bytes",
            Unit::Goroutines => "goroutines",
        }
    }
}
