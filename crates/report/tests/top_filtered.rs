//! The `-top` pipeline on `decode_filtered` (zero-weight samples left out
//! while decoding) against `go tool pprof -top`, on every real profile in
//! testdata and every sample index. Needs `HEAPDRIFT_GO`.

use profile::passes;
use report::{Options, OutputFormat, Report};

/// pprof's generateRawReport for `-top -sample_index=INDEX`.
fn top(raw: &[u8], index: usize, filter: bool) -> String {
    let mut p = profile::proto::decode_filtered(raw, |_| filter.then(|| vec![index])).unwrap();
    passes::check_valid(&p).unwrap();
    let _ = passes::remove_uninteresting(&mut p);
    let (units, _) = passes::num_label_units(&p);
    let mut o = Options::for_sample_index(&p, index, OutputFormat::Text);
    o.num_label_units = units.into_iter().collect();
    let mut rpt = Report::new(p, o);
    passes::aggregate(rpt.profile_mut(), true, true, false, false, false, false).unwrap();
    let mut out = Vec::new();
    rpt.generate(&mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
#[cfg_attr(
    not(heapdrift_go),
    ignore = "needs HEAPDRIFT_GO, the Go 1.27 oracle: scripts/setup-go.sh"
)]
fn top_on_filtered_decode_matches_go() {
    let go = std::env::var_os("HEAPDRIFT_GO").expect("HEAPDRIFT_GO");
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/profiles");
    let mut checked = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        if !path.to_string_lossy().ends_with(".pb.gz") {
            continue;
        }
        let gz = std::fs::read(&path).unwrap();
        let raw = profile::gz::maybe_decompress(&gz, 1 << 30).unwrap();
        let n = profile::proto::decode(&raw).unwrap().sample_types.len();
        for index in 0..n {
            let want = std::process::Command::new(&go)
                .args(["tool", "pprof", "-top", &format!("-sample_index={index}")])
                .arg(&path)
                .env("TZ", "UTC")
                .output()
                .unwrap();
            assert!(want.status.success(), "{}", path.display());
            let want = String::from_utf8(want.stdout).unwrap();
            for filter in [false, true] {
                assert_eq!(
                    top(&raw, index, filter),
                    want,
                    "{} index {index} filter {filter}",
                    path.display()
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 10, "checked only {checked}");
}
