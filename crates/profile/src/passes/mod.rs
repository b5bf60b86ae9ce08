//! pprof's profile passes, each in its own module.
pub mod validate;
