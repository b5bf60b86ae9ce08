//! A synthetic Go service's heap snapshot series for the scale benchmark of
//! `heapdrift hunt` (issue 3): N heap profiles of a service with many
//! allocation sites, shaped as Go's runtime/pprof writes them (four sample
//! types, `bytes` labels, build-id mapping, multi-frame stacks through
//! runtime and standard-library helpers up to `runtime.goexit`), with a
//! few planted leaks of different rates and warm-up plateaus among churn
//! (GC sawtooth under a high allocation rate) and noise. Deterministic:
//! every value is a hash of (seed, site, snapshot).
//!
//! Shared by the `gen_hunt_scale` example (bench/hunt-scale.sh) and the
//! CI-sized test in tests/hunt.rs.

#![allow(dead_code)]

use std::io::Write;
use std::path::Path;

use profile::{Function, Line, Location, Mapping, NumLabel, Profile, Sample, ValueType};

#[derive(Clone, Debug)]
pub struct Config {
    pub snapshots: usize,
    pub sites: usize,
    pub seed: u64,
    pub interval_secs: i64,
    /// Unix nanoseconds of the first snapshot.
    pub start_nanos: i64,
    /// Whether the four leaks are planted; without, their sites are
    /// stable (a healthy replica of the same service).
    pub plant_leaks: bool,
}

impl Config {
    pub fn new(snapshots: usize, sites: usize, seed: u64) -> Config {
        Config {
            snapshots,
            sites,
            seed,
            interval_secs: 15,
            // 2026-11-20T10:00:00Z
            start_nanos: 1_795_168_800_000_000_000,
            plant_leaks: true,
        }
    }

    pub fn time_nanos(&self, snapshot: usize) -> i64 {
        self.start_nanos + snapshot as i64 * self.interval_secs * 1_000_000_000
    }
}

/// What a site does over time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Role {
    /// In use grows linearly at this many bytes per minute.
    Leak { rate: f64 },
    /// Warms up to `level` bytes with time constant `tau` (fraction of the
    /// series' span), then stays level.
    Plateau { level: f64, tau: f64 },
    /// Allocates `alloc` bytes/min; in use a GC sawtooth around `level`.
    Churn { level: f64, alloc: f64, period: f64 },
    /// In use `level` bytes with i.i.d. noise; `sparse`: a small site that
    /// sampling sometimes misses entirely.
    Stable { level: f64, sparse: bool },
}

/// A planted site, for the manifest.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Planted {
    pub function: String,
    pub file: String,
    pub line: i64,
    pub bytes_per_min: f64,
    /// Plateaus: the level reached.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<f64>,
    pub helper: &'static str,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct Manifest {
    pub snapshots: usize,
    pub sites: usize,
    pub seed: u64,
    pub interval_seconds: i64,
    pub start_unix_nanos: i64,
    pub leaks: Vec<Planted>,
    pub plateaus: Vec<Planted>,
    pub churn_sites: usize,
    pub stable_sites: usize,
}

/// A frame: function, file, line.
type Frame = (&'static str, &'static str, i64);

/// The helper chains between the allocator and the user's frame (leaf
/// first), by kind of allocation.
const HELPERS: [(&str, &[Frame]); 6] = [
    (
        "new",
        &[
            ("runtime.mallocgc", "runtime/malloc.go", 1141),
            ("runtime.newobject", "runtime/malloc.go", 1710),
        ],
    ),
    (
        "make slice",
        &[
            ("runtime.mallocgc", "runtime/malloc.go", 1141),
            ("runtime.makeslice", "runtime/slice.go", 116),
        ],
    ),
    (
        "append",
        &[
            ("runtime.mallocgc", "runtime/malloc.go", 1141),
            ("runtime.growslice", "runtime/slice.go", 278),
        ],
    ),
    (
        "map",
        &[
            ("runtime.mallocgc", "runtime/malloc.go", 1141),
            ("runtime.newarray", "runtime/malloc.go", 1742),
            (
                "internal/runtime/maps.newarray",
                "internal/runtime/maps/map.go",
                828,
            ),
            (
                "internal/runtime/maps.newTable",
                "internal/runtime/maps/table.go",
                75,
            ),
            (
                "internal/runtime/maps.(*Map).growToTable",
                "internal/runtime/maps/map.go",
                552,
            ),
            (
                "runtime.mapassign_faststr",
                "internal/runtime/maps/runtime_faststr_swiss.go",
                263,
            ),
        ],
    ),
    (
        "bytes.Buffer",
        &[
            ("runtime.mallocgc", "runtime/malloc.go", 1141),
            ("runtime.growslice", "runtime/slice.go", 278),
            ("bytes.growSlice", "bytes/buffer.go", 249),
            ("bytes.(*Buffer).grow", "bytes/buffer.go", 150),
            ("bytes.(*Buffer).Write", "bytes/buffer.go", 182),
        ],
    ),
    (
        "strings.Builder",
        &[
            ("runtime.mallocgc", "runtime/malloc.go", 1141),
            ("runtime.growslice", "runtime/slice.go", 278),
            ("strings.(*Builder).grow", "strings/builder.go", 82),
            ("strings.(*Builder).WriteString", "strings/builder.go", 124),
        ],
    ),
];

/// Where the goroutines that allocate start (root last).
const ROOTS: [&[Frame]; 3] = [
    &[
        ("net/http.HandlerFunc.ServeHTTP", "net/http/server.go", 2322),
        ("net/http.(*ServeMux).ServeHTTP", "net/http/server.go", 2861),
        (
            "net/http.serverHandler.ServeHTTP",
            "net/http/server.go",
            3340,
        ),
        ("net/http.(*conn).serve", "net/http/server.go", 2109),
        ("runtime.goexit", "runtime/asm_amd64.s", 1700),
    ],
    &[
        (
            "main.main",
            "github.com/acme/payments/cmd/payments/main.go",
            88,
        ),
        ("runtime.main", "runtime/proc.go", 285),
        ("runtime.goexit", "runtime/asm_amd64.s", 1700),
    ],
    &[
        (
            "github.com/acme/payments/internal/queue.(*Worker).run",
            "github.com/acme/payments/internal/queue/worker.go",
            61,
        ),
        ("runtime.goexit", "runtime/asm_amd64.s", 1700),
    ],
];

const PACKAGES: [&str; 12] = [
    "ledger", "api", "cache", "store", "auth", "queue", "billing", "report", "fraud", "notify",
    "session", "geo",
];
const SIZES: [i64; 12] = [16, 32, 48, 64, 96, 128, 256, 512, 1024, 4096, 8192, 32768];

pub struct Generator {
    pub cfg: Config,
    roles: Vec<Role>,
    /// Per site: its samples' stacks (location indexes) and value shares.
    stacks: Vec<Vec<(Vec<u32>, f64)>>,
    /// Per site: object size and helper kind.
    size: Vec<i64>,
    helper: Vec<usize>,
    template: Profile,
    /// Per site: (function, file, line) of the user frame.
    names: Vec<(String, String, i64)>,
}

/// A uniform number in [0, 1) from (seed, a, b, salt): splitmix64.
fn unit(seed: u64, a: u64, b: u64, salt: u64) -> f64 {
    let mut z = seed
        ^ a.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ b.wrapping_mul(0xC2B2_AE3D_27D4_EB4F)
        ^ salt.wrapping_mul(0x1656_67B1_9E37_79F9);
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

impl Generator {
    pub fn new(cfg: Config) -> Generator {
        let n = cfg.sites;
        let seed = cfg.seed;
        let r = |k: usize, salt: u64| unit(seed, k as u64, u64::MAX, salt);
        // Planted sites, spread over the site range.
        let leak_rates = [
            8.0 * 1048576.0,
            2.0 * 1048576.0,
            512.0 * 1024.0,
            160.0 * 1024.0,
        ];
        let leak_at: Vec<usize> = [0.13, 0.41, 0.67, 0.89]
            .iter()
            .map(|f| (f * n as f64) as usize)
            .collect();
        let plateau_at: Vec<usize> = [0.07, 0.29, 0.53, 0.71, 0.97]
            .iter()
            .map(|f| (f * n as f64) as usize)
            .collect();
        let plateau = [
            (48.0 * 1048576.0, 0.02),
            (16.0 * 1048576.0, 0.05),
            (6.0 * 1048576.0, 0.08),
            (2.0 * 1048576.0, 0.1),
            (24.0 * 1048576.0, 0.04),
        ];
        let mut roles = Vec::with_capacity(n);
        for k in 0..n {
            let leak = leak_at
                .iter()
                .position(|&x| x == k)
                .filter(|_| cfg.plant_leaks);
            let role = if let Some(i) = leak {
                Role::Leak {
                    rate: leak_rates[i],
                }
            } else if let Some(i) = plateau_at.iter().position(|&x| x == k) {
                Role::Plateau {
                    level: plateau[i].0,
                    tau: plateau[i].1,
                }
            } else if r(k, 1) < 0.25 {
                // Log-uniform 64 KiB .. 8 MiB in use, turned over 5-200x
                // per hour.
                let level = 65536.0 * 128f64.powf(r(k, 2));
                Role::Churn {
                    level,
                    alloc: level * (5.0 + 195.0 * r(k, 3)) / 60.0,
                    period: 20.0 + 100.0 * r(k, 4),
                }
            } else {
                // Log-uniform 1 KiB .. 4 MiB.
                let level = 1024.0 * 4096f64.powf(r(k, 5));
                Role::Stable {
                    level,
                    sparse: level < 262_144.0 && r(k, 6) < 0.5,
                }
            };
            roles.push(role);
        }

        // Functions and locations: one location per distinct frame.
        let mut p = Profile {
            sample_types: [
                ("alloc_objects", "count"),
                ("alloc_space", "bytes"),
                ("inuse_objects", "count"),
                ("inuse_space", "bytes"),
            ]
            .iter()
            .map(|(t, u)| ValueType {
                r#type: (*t).into(),
                unit: (*u).into(),
            })
            .collect(),
            period_type: Some(ValueType {
                r#type: "space".into(),
                unit: "bytes".into(),
            }),
            period: 524_288,
            mappings: vec![
                Mapping {
                    id: 1,
                    start: 0x400000,
                    limit: 0x1400000,
                    offset: 0,
                    file: "/usr/local/bin/payments".into(),
                    build_id: "5d1c0b0f7e1a4f4c9a3de8b6a1f2c3d4e5f60718".into(),
                    has_functions: true,
                    has_filenames: true,
                    has_line_numbers: true,
                    has_inline_frames: true,
                    ..Default::default()
                },
                Mapping {
                    id: 2,
                    start: 0x7ffd_5a3f_e000,
                    limit: 0x7ffd_5a40_0000,
                    file: "[vdso]".into(),
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let mut funcs: std::collections::HashMap<String, u32> = Default::default();
        let mut locs: std::collections::HashMap<(u32, i64), u32> = Default::default();
        let mut frame = |p: &mut Profile, name: &str, file: &str, line: i64| -> u32 {
            let nf = funcs.len() as u32;
            let f = *funcs.entry(name.to_string()).or_insert_with(|| {
                p.functions.push(Function {
                    id: nf as u64 + 1,
                    name: name.into(),
                    system_name: name.into(),
                    filename: file.into(),
                    start_line: (line - 3).max(1),
                });
                nf
            });
            let nl = locs.len() as u32;
            *locs.entry((f, line)).or_insert_with(|| {
                p.locations.push(Location {
                    id: nl as u64 + 1,
                    mapping: Some(0),
                    address: 0x401000 + nl as u64 * 0x1c,
                    lines: vec![Line {
                        function: Some(f),
                        line,
                        column: 0,
                    }],
                    is_folded: false,
                });
                nl
            })
        };
        let n_funcs = (n / 4).max(1);
        let user = |fid: usize, slot: usize| -> (String, String, i64) {
            let pkg = PACKAGES[fid % PACKAGES.len()];
            let file = format!(
                "github.com/acme/payments/internal/{pkg}/{pkg}{}.go",
                fid % 17
            );
            let name = match fid % 3 {
                0 => format!(
                    "github.com/acme/payments/internal/{pkg}.(*Service{}).Handle{fid}",
                    fid % 9
                ),
                1 => format!("github.com/acme/payments/internal/{pkg}.decode{fid}"),
                _ => format!(
                    "github.com/acme/payments/internal/{pkg}.(*store{}).put{fid}.func1",
                    fid % 5
                ),
            };
            (name, file, 20 + slot as i64 * 13 + (fid % 7) as i64)
        };
        let mut stacks = Vec::with_capacity(n);
        let mut names = Vec::with_capacity(n);
        let mut size = Vec::with_capacity(n);
        let mut helper = Vec::with_capacity(n);
        for k in 0..n {
            let h = (unit(seed, k as u64, 0, 7) * HELPERS.len() as f64) as usize;
            helper.push(h);
            size.push(SIZES[(unit(seed, k as u64, 0, 8) * SIZES.len() as f64) as usize]);
            let site = user(k % n_funcs, k / n_funcs);
            let variants = if k % 10 == 0 { 2 } else { 1 };
            let mut ss = Vec::new();
            for v in 0..variants {
                let mut st = Vec::new();
                for &(f, file, line) in HELPERS[h].1 {
                    st.push(frame(&mut p, f, &format!("/usr/local/go/src/{file}"), line));
                }
                st.push(frame(&mut p, &site.0, &site.1, site.2));
                let depth = 1 + (unit(seed, k as u64, v, 9) * 4.0) as usize;
                for d in 0..depth {
                    let caller = (k * 31 + d * 7 + v as usize * 13 + 1) % n_funcs;
                    let (name, file, line) = user(caller, d % 3);
                    st.push(frame(&mut p, &name, &file, line + 40));
                }
                let root = ROOTS[(k + v as usize) % ROOTS.len()];
                for &(f, file, line) in root {
                    let file = if file.starts_with("github.com/") {
                        file.to_string()
                    } else {
                        format!("/usr/local/go/src/{file}")
                    };
                    st.push(frame(&mut p, f, &file, line));
                }
                let share = if variants == 1 {
                    1.0
                } else if v == 0 {
                    0.7
                } else {
                    0.3
                };
                ss.push((st, share));
            }
            stacks.push(ss);
            names.push(site);
        }
        Generator {
            cfg,
            roles,
            stacks,
            size,
            helper,
            template: p,
            names,
        }
    }

    pub fn manifest(&self) -> Manifest {
        let planted = |k: usize, rate: f64, level: Option<f64>| Planted {
            function: self.names[k].0.clone(),
            file: self.names[k].1.clone(),
            line: self.names[k].2,
            bytes_per_min: rate,
            level,
            helper: HELPERS[self.helper[k]].0,
        };
        let mut m = Manifest {
            snapshots: self.cfg.snapshots,
            sites: self.cfg.sites,
            seed: self.cfg.seed,
            interval_seconds: self.cfg.interval_secs,
            start_unix_nanos: self.cfg.start_nanos,
            leaks: Vec::new(),
            plateaus: Vec::new(),
            churn_sites: 0,
            stable_sites: 0,
        };
        for (k, r) in self.roles.iter().enumerate() {
            match *r {
                Role::Leak { rate } => m.leaks.push(planted(k, rate, None)),
                Role::Plateau { level, .. } => m.plateaus.push(planted(k, 0.0, Some(level))),
                Role::Churn { .. } => m.churn_sites += 1,
                Role::Stable { .. } => m.stable_sites += 1,
            }
        }
        m
    }

    /// In-use and cumulative allocated bytes of site `k` at snapshot `t`.
    fn values(&self, k: usize, t: usize) -> (f64, f64) {
        let seed = self.cfg.seed;
        let minutes = t as f64 * self.cfg.interval_secs as f64 / 60.0;
        let span = (self.cfg.snapshots.max(2) - 1) as f64 * self.cfg.interval_secs as f64 / 60.0;
        let noise = |amp: f64| 1.0 + amp * (2.0 * unit(seed, k as u64, t as u64, 11) - 1.0);
        match self.roles[k] {
            Role::Leak { rate } => {
                let inuse = (65536.0 + rate * minutes) * noise(0.06);
                // Everything allocated is kept, plus a little that is freed.
                (inuse, 1.1 * (65536.0 + rate * minutes))
            }
            Role::Plateau { level, tau } => {
                let warm = 1.0 - (-minutes / (tau * span)).exp();
                let inuse = level * warm * noise(0.04);
                (inuse, level * 1.2 * warm + level * 0.05 * minutes)
            }
            Role::Churn {
                level,
                alloc,
                period,
            } => {
                // A sawtooth: garbage piles up until the GC clears it.
                let secs = t as f64 * self.cfg.interval_secs as f64;
                let phase = (secs / period + unit(seed, k as u64, u64::MAX, 12)).fract();
                (
                    level * (0.6 + 0.8 * phase) * noise(0.15),
                    2.0 * level + alloc * minutes,
                )
            }
            Role::Stable { level, sparse } => {
                if sparse && unit(seed, k as u64, t as u64, 13) < 0.3 {
                    (0.0, level * (1.5 + 0.3 * minutes))
                } else {
                    (level * noise(0.3), level * (1.5 + 0.3 * minutes))
                }
            }
        }
    }

    /// Snapshot `t` as Go writes it.
    pub fn profile(&self, t: usize) -> Profile {
        let mut p = self.template.clone();
        p.time_nanos = self.cfg.time_nanos(t);
        for k in 0..self.cfg.sites {
            let (inuse, alloc) = self.values(k, t);
            let size = self.size[k];
            for (stack, share) in &self.stacks[k] {
                let objs = |b: f64| ((b * share) / size as f64).round().max(0.0) as i64;
                let (io, ao) = (objs(inuse), objs(alloc));
                if io == 0 && ao == 0 {
                    continue;
                }
                p.samples.push(Sample {
                    locations: stack.clone(),
                    values: vec![ao, ao * size, io, io * size],
                    labels: Vec::new(),
                    num_labels: vec![NumLabel {
                        key: "bytes".into(),
                        value: size,
                        unit: None,
                    }],
                });
            }
        }
        p
    }

    /// Snapshot `t`, encoded and gzipped as Go serves it.
    pub fn gz(&self, t: usize) -> Vec<u8> {
        let raw = profile::proto::encode(&self.profile(t));
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&raw).expect("in-memory gzip");
        gz.finish().expect("in-memory gzip")
    }
}

/// The file name of snapshot `t` in the plain directory.
pub fn file_name(cfg: &Config, t: usize) -> String {
    let ns = cfg.time_nanos(t);
    let secs = ns.div_euclid(1_000_000_000);
    let (y, m, d) = profile::civil::civil_from_days(secs.div_euclid(86_400));
    let tod = secs.rem_euclid(86_400);
    format!(
        "heap-{y:04}{m:02}{d:02}T{:02}{:02}{:02}.{:03}Z.pb.gz",
        tod / 3600,
        (tod % 3600) / 60,
        tod % 60,
        ns.rem_euclid(1_000_000_000) / 1_000_000
    )
}

/// Writes the series as files into `files` (if given) and into the archive
/// at `archive` (if given) the way `heapdrift watch` stores them, and the
/// manifest to `manifest`. Returns the manifest.
pub fn write(
    cfg: &Config,
    files: Option<&Path>,
    archive: Option<&Path>,
    manifest: &Path,
) -> Result<Manifest, Box<dyn std::error::Error>> {
    let g = Generator::new(cfg.clone());
    let m = g.manifest();
    if let Some(d) = files {
        std::fs::create_dir_all(d)?;
    }
    let mut store = match archive {
        Some(a) => {
            let mut arc = store::Archive::open(a)?;
            let target = arc.target("http://payments.internal:6060")?;
            Some((arc, target, None))
        }
        None => None,
    };
    for t in 0..cfg.snapshots {
        let bytes = g.gz(t);
        if let Some(d) = files {
            std::fs::write(d.join(file_name(cfg, t)), &bytes)?;
        }
        if let Some((arc, target, series)) = store.as_mut() {
            // As watch does: parse, summarise, begin the series at the
            // first snapshot, put, keep the identity current.
            let parsed = profile::parse(&bytes, &profile::ParseOptions::default())?;
            let summary = store::Summary::from_parsed(&parsed, &Default::default());
            let ident = store::Identity::from_parsed(&parsed);
            let at = cfg.time_nanos(t);
            let s = match series {
                Some(s) => *s,
                None => {
                    let s = arc.begin_series(*target, at, &ident, "first")?;
                    *series = Some(s);
                    s
                }
            };
            arc.put(s, store::Kind::Heap, at, Some(40_000_000), &bytes, &summary)?;
            arc.set_identity(s, &ident)?;
        }
    }
    std::fs::write(manifest, serde_json::to_string_pretty(&m)?)?;
    Ok(m)
}
