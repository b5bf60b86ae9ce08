pub mod measurement {}
