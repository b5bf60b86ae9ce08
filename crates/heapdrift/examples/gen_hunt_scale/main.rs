//! Generates the scale benchmark's input (bench/hunt-scale.sh): a
//! synthetic Go service's heap snapshot series as plain `.pb.gz` files and
//! as an archive written the way `heapdrift watch` writes one, plus a
//! manifest of the planted leaks and plateaus.
//!
//! `cargo run --profile ci -p heapdrift --example gen_hunt_scale -- OUT [SNAPSHOTS] [SITES] [SEED]`
//! writes OUT/files/, OUT/archive/ and OUT/manifest.json (defaults: 500
//! snapshots, 10,000 sites, seed 1).

mod synth;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(out) = args.first() else {
        eprintln!("usage: gen_hunt_scale OUT [SNAPSHOTS] [SITES] [SEED]");
        std::process::exit(2);
    };
    let num = |i: usize, default: u64| -> u64 {
        args.get(i).map_or(default, |s| {
            s.parse().unwrap_or_else(|_| {
                eprintln!("gen_hunt_scale: {s:?} is not a number");
                std::process::exit(2)
            })
        })
    };
    let cfg = synth::Config::new(num(1, 500) as usize, num(2, 10_000) as usize, num(3, 1));
    let out = std::path::Path::new(out);
    let t0 = std::time::Instant::now();
    match synth::write(
        &cfg,
        Some(&out.join("files")),
        Some(&out.join("archive")),
        &out.join("manifest.json"),
    ) {
        Ok(m) => eprintln!(
            "gen_hunt_scale: {} snapshots x {} sites ({} leaks, {} plateaus, {} churn) in {:.1}s",
            m.snapshots,
            m.sites,
            m.leaks.len(),
            m.plateaus.len(),
            m.churn_sites,
            t0.elapsed().as_secs_f64()
        ),
        Err(e) => {
            eprintln!("gen_hunt_scale: {e}");
            std::process::exit(1);
        }
    }
}
