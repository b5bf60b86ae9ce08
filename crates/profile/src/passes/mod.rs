//! pprof's profile passes, each in its own module.
pub mod filter;
mod hash;
pub mod index;
pub mod merge;
pub mod ops;
pub mod prune;
pub mod tagroot;
pub mod validate;

pub use filter::{
    filter_samples_by_name, filter_samples_by_tag, filter_tags_by_name, location_verdicts,
    samples_kept_by_name, samples_kept_by_verdicts, show_from,
};
pub use index::{SampleIndexError, sample_index_by_name};
pub use merge::{MergeError, compact, compatibilize_sample_types, compatible, merge, merge_refs};
pub use ops::*;
pub use prune::{PruneError, prune, prune_from, remove_uninteresting, simplify_func};
pub use tagroot::add_label_nodes;
pub use validate::{check_samples, check_tables, check_valid};
