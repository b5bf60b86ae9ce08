//! pprof's short display names (`internal/report/shortnames.go`), used by
//! flame-graph views: progressively shorter suffixes of a name.

use crate::dotgraph::shorten_function_name;
use crate::graph::go_clean;

/// `fileNameSuffixes`: `a/b/c`, `b/c`, `c`.
pub fn file_name_suffixes(name: &str) -> Vec<String> {
    if name.is_empty() {
        // Not ".", which is what cleaning an empty path gives.
        return vec![String::new()];
    }
    let name = go_clean(name);
    let seps: Vec<(usize, usize)> = name
        .match_indices('/')
        .map(|(i, s)| (i, i + s.len()))
        .collect();
    all_suffixes(&name, &seps)
}

/// `shortNameList`: `pkg.Type.Method`, `Type.Method`, `Method` (splitting
/// at `.` and `::`).
pub fn short_name_list(name: &str) -> Vec<String> {
    let name = shorten_function_name(name);
    let mut seps = Vec::new();
    let b = name.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b':' && b.get(i + 1) == Some(&b':') {
            seps.push((i, i + 2));
            i += 2;
        } else if b[i] == b'.' {
            seps.push((i, i + 1));
            i += 1;
        } else {
            i += 1;
        }
    }
    all_suffixes(&name, &seps)
}

fn all_suffixes(name: &str, seps: &[(usize, usize)]) -> Vec<String> {
    let mut out = vec![name.to_string()];
    for &(_, end) in seps {
        if end < name.len() {
            out.push(name[end..].to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // pprof's TestShortNames and TestFileNameSuffixes.
    #[test]
    fn short_names() {
        let cases: [(&str, &[&str]); 7] = [
            ("", &[""]),
            ("foo", &["foo"]),
            ("foo.bar.", &["foo.bar.", "bar."]),
            ("a::b::c", &["a::b::c", "b::c", "c"]),
            ("a.b.c", &["a.b.c", "b.c", "c"]),
            ("a::b.c::d", &["a::b.c::d", "b.c::d", "c::d", "d"]),
            ("foo::operator()", &["foo::operator()", "operator()"]),
        ];
        for (input, want) in cases {
            assert_eq!(short_name_list(input), want, "{input}");
        }
    }

    #[test]
    fn file_suffixes() {
        let cases: [(&str, &[&str]); 5] = [
            ("", &[""]),
            ("foo", &["foo"]),
            ("a/b/c", &["a/b/c", "b/c", "c"]),
            ("/a/b", &["/a/b", "a/b", "b"]),
            ("a/b", &["a/b", "b"]),
        ];
        for (input, want) in cases {
            assert_eq!(file_name_suffixes(input), want, "{input}");
        }
    }
}
