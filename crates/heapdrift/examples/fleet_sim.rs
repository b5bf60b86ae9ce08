//! Pushes a simulated fleet into a profile store (Pyroscope or Parca) for the fleet scale
//! benchmark (bench/fleet-scale.sh): SERVICES services of INSTANCES
//! replicas each, SNAPSHOTS heap snapshots per replica (15 s apart, ending
//! now), made by the hunt scale benchmark's generator. The four leaks of
//! that generator are planted in LEAKY replicas of the first LEAKY_SERVICES
//! services; every other replica runs the same code without them (its
//! plateaus, churn and noise stay). Writes the manifest of the planted
//! leaks as JSON on stdout.
//!
//! `cargo run --profile ci -p heapdrift --example fleet_sim -- URL [SERVICES] [INSTANCES] [SNAPSHOTS] [SITES] [LEAKY_SERVICES] [LEAKY] [THREADS]`
//! (defaults 10 20 60 200 2 5 8).

#[path = "gen_hunt_scale/synth.rs"]
mod synth;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use fetch::store::ServerOptions;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(url) = args.first() else {
        eprintln!(
            "usage: fleet_sim URL [SERVICES] [INSTANCES] [SNAPSHOTS] [SITES] [LEAKY_SERVICES] [LEAKY] [THREADS]"
        );
        std::process::exit(2);
    };
    let num = |i: usize, default: usize| -> usize {
        args.get(i).map_or(default, |s| {
            s.parse().unwrap_or_else(|_| {
                eprintln!("fleet_sim: {s:?} is not a number");
                std::process::exit(2)
            })
        })
    };
    let (services, instances, snapshots, sites) = (num(1, 10), num(2, 20), num(3, 60), num(4, 200));
    let (leaky_services, leaky, threads) = (num(5, 2), num(6, 5), num(7, 8));
    let server = fetch::store::open(
        url,
        &ServerOptions {
            retry_for: Duration::from_secs(120),
            ..Default::default()
        },
    )
    .unwrap_or_else(|e| {
        eprintln!("fleet_sim: {e}");
        std::process::exit(2)
    });
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_nanos() as i64;
    let interval_secs = 15;
    let start_nanos = now - (snapshots as i64) * interval_secs * 1_000_000_000;
    // One generator per replica: the same code (site names), its own
    // traffic (the seed).
    let replicas: Vec<(String, String, bool, synth::Generator)> = (0..services)
        .flat_map(|s| (0..instances).map(move |i| (s, i)))
        .map(|(s, i)| {
            let mut cfg = synth::Config::new(snapshots, sites, (s * 1000 + i + 1) as u64);
            cfg.interval_secs = interval_secs;
            cfg.start_nanos = start_nanos;
            cfg.plant_leaks = s < leaky_services && i < leaky;
            let planted = cfg.plant_leaks;
            (
                format!("svc-{s:02}"),
                format!("pod-{i:03}"),
                planted,
                synth::Generator::new(cfg),
            )
        })
        .collect();
    let mut manifest = Vec::new();
    for (service, instance, planted, g) in &replicas {
        if *planted {
            for l in g.manifest().leaks {
                manifest.push(serde_json::json!({
                    "service": service, "instance": instance,
                    "function": l.function, "file": l.file, "line": l.line,
                    "bytes_per_min": l.bytes_per_min,
                }));
            }
        }
    }
    let jobs: Vec<(usize, usize)> = (0..replicas.len())
        .flat_map(|r| (0..snapshots).map(move |t| (r, t)))
        .collect();
    let next = AtomicUsize::new(0);
    let bytes = AtomicUsize::new(0);
    let t0 = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads.max(1) {
            scope.spawn(|| {
                loop {
                    let j = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&(r, t)) = jobs.get(j) else { break };
                    let (service, instance, _, g) = &replicas[r];
                    let gz = g.gz(t);
                    bytes.fetch_add(gz.len(), Ordering::Relaxed);
                    let labels = [
                        ("__name__", "memory"),
                        (server.service_label(), service.as_str()),
                        ("instance", instance.as_str()),
                    ];
                    if let Err(e) = server.push(&labels, &gz) {
                        eprintln!("fleet_sim: {service}/{instance} snapshot {t}: {e}");
                        std::process::exit(1);
                    }
                }
            });
        }
    });
    eprintln!(
        "fleet_sim: {} profiles ({} services x {instances} instances x {snapshots} snapshots, {sites} sites, {:.1} MB gzipped) pushed in {:.1} s",
        jobs.len(),
        services,
        bytes.load(Ordering::Relaxed) as f64 / 1e6,
        t0.elapsed().as_secs_f64()
    );
    println!(
        "{}",
        serde_json::to_string_pretty(&serde_json::json!({ "leaks": manifest })).expect("JSON")
    );
}
