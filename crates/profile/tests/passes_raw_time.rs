//! `Time:` and `Duration:` of `-raw` against Go's time formatting, from
//! goldens made by gen.sh (Go's `time.Unix(0, n)` in UTC, `Duration.String`
//! and `%.4v`).
use profile::raw::{go_duration, go_time_utc};
use std::path::Path;

#[test]
fn time_and_duration_match_go() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/passes/golden/times.txt");
    let golden = std::fs::read_to_string(path).unwrap();
    let mut n_cases = 0;
    for line in golden.lines() {
        let parts: Vec<&str> = line.split('|').collect();
        let n: i64 = parts[0].parse().unwrap();
        let mut t = String::new();
        go_time_utc(&mut t, n);
        assert_eq!(t, parts[1], "time {n}");
        let d = go_duration(n);
        assert_eq!(d, parts[2], "duration {n}");
        let short: String = d.chars().take(4).collect();
        assert_eq!(short, parts[3], "%.4v of duration {n}");
        n_cases += 1;
    }
    assert!(n_cases >= 30);
}
