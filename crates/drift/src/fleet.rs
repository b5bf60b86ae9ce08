//! One service's findings across its instances (replicas): which sites
//! grow, and on how many replicas.
//!
//! Replicas run the same code under the same kind of load, so a real leak
//! grows on each of them; noise, a warm-up or one pod's odd traffic grows
//! on one. How many replicas a site grows on is therefore the fleet's own
//! evidence, next to each instance's verdict. It is reported as counts,
//! never folded into the verdicts: an instance's verdict stays what its own
//! series shows (docs/fleet.md).

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::Serialize;

use crate::finding::{Finding, Kind, Verdict};
use crate::units::{self, Unit};

/// One site (or goroutine group, or memory component) of a service.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FleetSite {
    pub kind: Kind,
    pub function: String,
    pub file: String,
    pub line: i64,
    /// The most severe verdict on any instance.
    pub verdict: Verdict,
    /// Instances read.
    pub replicas: usize,
    /// Instances where it is `leak` or `suspect`.
    pub growing: usize,
    /// Instances where it is `leak`.
    pub leaking: usize,
    /// Median growth per minute over the instances where it grows.
    pub median_growth_per_min: f64,
    pub unit: Unit,
    /// Where it grows, most severe first.
    pub instances: Vec<SiteOnInstance>,
}

/// A site's finding on one instance.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SiteOnInstance {
    pub instance: String,
    pub verdict: Verdict,
    pub growth_per_min: f64,
    pub confidence: f64,
}

/// Every site that grows (`leak` or `suspect`) on at least one of the
/// `instances` (name, findings), ranked: most replicas leaking first, then
/// most replicas growing, code the user owns before symptoms (memory
/// components, standard library), then the larger median growth.
pub fn rank(instances: &[(&str, &[Finding])]) -> Vec<FleetSite> {
    // Per site: the site, whether it is the user's code, its rates.
    type Gathered = (FleetSite, bool, Vec<f64>);
    let mut sites: BTreeMap<(Kind, &str, &str, i64), Gathered> = BTreeMap::new();
    for (instance, findings) in instances {
        for f in findings.iter().filter(|f| f.verdict >= Verdict::Suspect) {
            let (site, _, rates) = sites
                .entry((f.kind, &f.function, &f.file, f.line))
                .or_insert_with(|| {
                    (
                        FleetSite {
                            kind: f.kind,
                            function: f.function.clone(),
                            file: f.file.clone(),
                            line: f.line,
                            verdict: f.verdict,
                            replicas: instances.len(),
                            growing: 0,
                            leaking: 0,
                            median_growth_per_min: 0.0,
                            unit: f.unit,
                            instances: Vec::new(),
                        },
                        f.at_own_code(),
                        Vec::new(),
                    )
                });
            // A site found twice on one instance (two findings of one
            // line) counts that instance once, at its worse verdict.
            if let Some(on) = site.instances.iter_mut().find(|s| s.instance == *instance) {
                if f.verdict > on.verdict {
                    on.verdict = f.verdict;
                }
                continue;
            }
            site.verdict = site.verdict.max(f.verdict);
            site.instances.push(SiteOnInstance {
                instance: instance.to_string(),
                verdict: f.verdict,
                growth_per_min: f.growth_per_min,
                confidence: f.confidence,
            });
            rates.push(f.growth_per_min);
        }
    }
    let mut out: Vec<(FleetSite, bool)> = sites
        .into_values()
        .map(|(mut site, own, mut rates)| {
            site.growing = site.instances.len();
            site.leaking = site
                .instances
                .iter()
                .filter(|s| s.verdict == Verdict::Leak)
                .count();
            rates.sort_by(f64::total_cmp);
            site.median_growth_per_min = median(&rates);
            site.instances.sort_by(|a, b| {
                b.verdict
                    .cmp(&a.verdict)
                    .then(b.growth_per_min.total_cmp(&a.growth_per_min))
                    .then(a.instance.cmp(&b.instance))
            });
            (site, own)
        })
        .collect();
    out.sort_by(|(a, a_own), (b, b_own)| {
        b.leaking
            .cmp(&a.leaking)
            .then(b.growing.cmp(&a.growing))
            .then(b_own.cmp(a_own))
            .then(b.median_growth_per_min.total_cmp(&a.median_growth_per_min))
            .then(a.function.cmp(&b.function))
            .then(a.line.cmp(&b.line))
    });
    out.into_iter().map(|(s, _)| s).collect()
}

fn median(sorted: &[f64]) -> f64 {
    match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// The text of one service's ranking.
pub fn render_text(
    w: &mut impl Write,
    service: &str,
    read: usize,
    left_out: usize,
    sites: &[FleetSite],
) -> io::Result<()> {
    let of = if left_out > 0 {
        format!(" of {}", read + left_out)
    } else {
        String::new()
    };
    writeln!(
        w,
        "heapdrift hunt: service {service}, {read} instance{}{of} read",
        if read == 1 { "" } else { "s" }
    )?;
    if sites.is_empty() {
        writeln!(
            w,
            "No site, goroutine group or memory component grows on any instance."
        )?;
        return Ok(());
    }
    for (i, s) in sites.iter().enumerate() {
        let kind = match s.kind {
            Kind::Heap => "heap",
            Kind::Goroutine => "goroutines",
            Kind::Memory => "memory",
            Kind::Resource => "resource",
        };
        let place = if s.file.is_empty() {
            String::new()
        } else {
            format!(" {}:{}", s.file, s.line)
        };
        writeln!(
            w,
            "#{} {} {kind}  {}{place}",
            i + 1,
            s.verdict.as_str().to_uppercase(),
            s.function
        )?;
        let leak = if s.leaking > 0 && s.leaking < s.growing {
            format!(" (leak on {})", s.leaking)
        } else {
            String::new()
        };
        writeln!(
            w,
            "   grows on {} of {} replicas{leak}, median {}",
            s.growing,
            s.replicas,
            units::rate(s.median_growth_per_min, s.unit)
        )?;
        let shown: Vec<String> = s
            .instances
            .iter()
            .take(5)
            .map(|on| {
                format!(
                    "{} {} {}",
                    on.instance,
                    on.verdict.as_str(),
                    units::rate(on.growth_per_min, s.unit)
                )
            })
            .collect();
        let more = s.instances.len().saturating_sub(shown.len());
        writeln!(
            w,
            "   on         {}{}",
            shown.join(", "),
            if more > 0 {
                format!(", and {more} more")
            } else {
                String::new()
            }
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Evidence;

    fn finding(function: &str, line: i64, verdict: Verdict, rate: f64) -> Finding {
        Finding {
            kind: Kind::Heap,
            verdict,
            function: function.into(),
            file: "main.go".into(),
            line,
            growth_per_min: rate,
            unit: Unit::Bytes,
            confidence: 0.9,
            score: rate,
            rule: None,
            signature: None,
            state: None,
            created_by: None,
            created_at: None,
            blocking_frame: None,
            resource: None,
            root_cause: String::new(),
            fix_hint: String::new(),
            notes: Vec::new(),
            stack: Vec::new(),
            evidence: Evidence::default(),
        }
    }

    #[test]
    fn a_site_on_every_replica_outranks_a_bigger_one_on_one() {
        let leak = |r| finding("main.handle", 74, Verdict::Leak, r);
        let big = finding("main.warm", 10, Verdict::Leak, 50.0);
        let noise = finding("main.noise", 20, Verdict::Suspect, 1.0);
        let flat = finding("main.flat", 30, Verdict::Plateau, 0.0);
        let a = vec![leak(4.0), big, flat.clone()];
        let b = vec![leak(3.0), noise.clone()];
        let c = vec![finding("main.handle", 74, Verdict::Suspect, 5.0), flat];
        let ranked = rank(&[("a", &a), ("b", &b), ("c", &c)]);
        let names: Vec<(&str, usize, usize)> = ranked
            .iter()
            .map(|s| (s.function.as_str(), s.growing, s.leaking))
            .collect();
        assert_eq!(
            names,
            vec![
                ("main.handle", 3, 2),
                ("main.warm", 1, 1),
                ("main.noise", 1, 0)
            ]
        );
        let top = &ranked[0];
        assert_eq!(top.verdict, Verdict::Leak);
        assert_eq!(top.replicas, 3);
        assert_eq!(top.median_growth_per_min, 4.0);
        let on: Vec<&str> = top.instances.iter().map(|i| i.instance.as_str()).collect();
        assert_eq!(on, vec!["a", "b", "c"], "leaks first, then by rate");
        let mut text = Vec::new();
        render_text(&mut text, "svc", 3, 1, &ranked).unwrap();
        let text = String::from_utf8(text).unwrap();
        assert!(
            text.starts_with("heapdrift hunt: service svc, 3 instances of 4 read\n"),
            "{text}"
        );
        assert!(text.contains("#1 LEAK heap  main.handle main.go:74\n   grows on 3 of 3 replicas (leak on 2), median +4 B/min\n"), "{text}");
    }

    #[test]
    fn nothing_grows() {
        let flat = vec![finding("main.flat", 30, Verdict::Plateau, 0.0)];
        assert!(rank(&[("a", &flat)]).is_empty());
        let mut text = Vec::new();
        render_text(&mut text, "svc", 1, 0, &[]).unwrap();
        assert!(String::from_utf8(text).unwrap().contains("No site"));
    }
}
