//! The current RSS of a target. Go's MemStats has only the peak (MaxRSS,
//! in the heap?debug=1 footer) and what Go asked the OS for; the resident
//! set is what the OS charges the process, and grows with memory Go does
//! not manage (cgo, mmap) or has not returned.
//!
//! Found once per target, in this order: (1) heapdrift's Go companion,
//! `/debug/heapdrift/snapshot` (docs/probe.md), read in the process itself;
//! (2) the target's Prometheus
//! `/metrics`, if it has `process_resident_memory_bytes` (client_golang
//! exports it by default); (3) for a target on a loopback address, the
//! process on this machine that listens on its port (`/proc/net/tcp{,6}`
//! listening sockets, then the `/proc/*/fd` that holds the socket; Linux,
//! best effort: processes we may not inspect are skipped), read from
//! `/proc/PID/status`. Each round's reading is archived: the probe's
//! snapshot as served (`store::Kind::Probe`), or a metrics text
//! (`store::Kind::Metrics`): the `/metrics` body as served, or a text
//! written from `/proc/PID/status`.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use fetch::watch::{Client, Failure, FailureClass, Target};

/// Where a target's RSS is read.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum RssSource {
    /// The snapshot of heapdrift's Go companion.
    Probe { url: String },
    /// The target's Prometheus exposition.
    Metrics { url: String },
    /// The process listening on the target's (loopback) port.
    Proc { pid: u32, host: IpAddr, port: u16 },
}

impl RssSource {
    pub(crate) fn describe(&self) -> String {
        match self {
            RssSource::Probe { url } => format!("{url} (heapdriftprobe)"),
            RssSource::Metrics { url } => format!("{url} (process_resident_memory_bytes)"),
            RssSource::Proc { pid, port, .. } => {
                format!("/proc/{pid}/status (pid {pid} listens on port {port})")
            }
        }
    }
}

impl RssSource {
    /// The kind its readings are archived as.
    pub(crate) fn kind(&self) -> store::Kind {
        match self {
            RssSource::Probe { .. } => store::Kind::Probe,
            RssSource::Metrics { .. } | RssSource::Proc { .. } => store::Kind::Metrics,
        }
    }
}

/// One reading: the exposition to archive and the RSS in it.
pub(crate) struct Reading {
    pub bytes: Vec<u8>,
    pub rss: u64,
}

/// Finds the target's RSS source: `Ok` with the source (and, for
/// `/metrics`, the reading that found it), or `Err` saying why there is
/// none. `main_binary` is the profiled binary's path (the heap
/// profile's first mapping), if known: a process found by its port must be
/// that binary, not a proxy in front of it.
pub(crate) fn discover(
    client: &Client,
    target: &Target,
    main_binary: Option<&str>,
) -> Result<(RssSource, Option<Reading>), String> {
    let probe_url = format!("{}/debug/heapdrift/snapshot", target.url);
    if let Ok(r) = read_probe(client, &probe_url) {
        return Ok((RssSource::Probe { url: probe_url }, Some(r)));
    }
    let url = format!("{}/metrics", target.url);
    let metrics_why = match read_metrics(client, &url) {
        Ok(r) => return Ok((RssSource::Metrics { url }, Some(r))),
        Err(f) => f.to_string(),
    };
    let Some((host, port)) = loopback_host_port(&target.url) else {
        return Err(format!(
            "{metrics_why}; and the target is not on a loopback address, so /proc cannot tell its process"
        ));
    };
    match find_listener(host, port, main_binary) {
        Ok(pid) => Ok((RssSource::Proc { pid, host, port }, None)),
        Err(why) => Err(format!("{metrics_why}; and {why}")),
    }
}

/// Reads the RSS from `source`; a `Proc` source whose process is gone (a
/// restart) is looked up again by its port and updated.
pub(crate) fn read(
    client: &Client,
    source: &mut RssSource,
    main_binary: Option<&str>,
) -> Result<Reading, Failure> {
    match source {
        RssSource::Probe { url } => read_probe(client, url),
        RssSource::Metrics { url } => read_metrics(client, url),
        RssSource::Proc { pid, host, port } => {
            let status = match ProcStatus::read(*pid) {
                Ok(s) => s,
                Err(_) => {
                    let url = format!("/proc/{pid}/status");
                    let gone = |message: String| Failure {
                        class: FailureClass::Refused,
                        url: url.clone(),
                        message,
                        unknown_profile: false,
                    };
                    let new = find_listener(*host, *port, main_binary)
                        .map_err(|why| gone(format!("process {pid} is gone, and {why}")))?;
                    *pid = new;
                    ProcStatus::read(new).map_err(|e| gone(e.to_string()))?
                }
            };
            Ok(Reading {
                bytes: status.exposition(*pid).into_bytes(),
                rss: status.rss,
            })
        }
    }
}

/// GETs a Prometheus exposition and its RSS. An answer without the RSS is
/// garbage (`Protocol`), a failed request keeps its own class.
fn read_metrics(client: &Client, url: &str) -> Result<Reading, Failure> {
    let bytes = client.get(url, 16 << 20)?;
    let garbage = |message: String| Failure {
        class: FailureClass::Protocol,
        url: url.to_string(),
        message,
        unknown_profile: false,
    };
    match profile::metrics::resident_memory_bytes(&bytes) {
        Ok(Some(rss)) => Ok(Reading { bytes, rss }),
        Ok(None) => Err(garbage("no process_resident_memory_bytes".into())),
        Err(e) => Err(garbage(format!("not a Prometheus exposition ({e})"))),
    }
}

/// GETs the probe's snapshot and its RSS. A snapshot without the RSS (a
/// process without /proc) or that does not parse is garbage (`Protocol`).
fn read_probe(client: &Client, url: &str) -> Result<Reading, Failure> {
    let bytes = client.get(url, 1 << 20)?;
    let garbage = |message: String| Failure {
        class: FailureClass::Protocol,
        url: url.to_string(),
        message,
        unknown_profile: false,
    };
    match profile::probe::parse_snapshot(&bytes) {
        Ok(snap) => match snap.rss {
            Some(rss) => Ok(Reading {
                bytes,
                rss: rss.total,
            }),
            None => Err(garbage("the probe's snapshot has no RSS (no /proc)".into())),
        },
        Err(e) => Err(garbage(e.to_string())),
    }
}

/// The host (as an address) and port of a target on a loopback address.
fn loopback_host_port(url: &str) -> Option<(IpAddr, u16)> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split('/').next()?;
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.is_empty() && !p.contains(']') => (h, p.parse().ok()?),
        _ => (authority, if scheme == "https" { 443 } else { 80 }),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let ip = if host.eq_ignore_ascii_case("localhost") {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        host.parse().ok()?
    };
    ip.is_loopback().then_some((ip, port))
}

/// The pid of the process listening on `port` of a loopback or wildcard
/// address, preferring a socket bound to `host` itself.
pub(crate) fn find_listener(
    host: IpAddr,
    port: u16,
    main_binary: Option<&str>,
) -> Result<u32, String> {
    let mut sockets = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        if let Ok(text) = std::fs::read_to_string(table) {
            sockets.extend(listening_sockets(&text, port));
        }
    }
    sockets.retain(|(ip, _)| *ip == host || ip.is_unspecified() || is_loopback(*ip));
    sockets.sort_by_key(|(ip, _)| *ip != host);
    let Some(&(_, inode)) = sockets.first() else {
        return Err(format!("no socket on this machine listens on port {port}"));
    };
    let Some(pid) = pid_holding_socket(Path::new("/proc"), inode) else {
        return Err(format!(
            "no process we may inspect holds the socket listening on port {port}"
        ));
    };
    if let Some(want) = main_binary.filter(|b| !b.is_empty()) {
        let exe = std::fs::read_link(format!("/proc/{pid}/exe"))
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        let exe = exe.strip_suffix(" (deleted)").unwrap_or(&exe);
        if !exe.is_empty() && exe != want {
            return Err(format!(
                "port {port} is held by pid {pid} ({exe}), not by the profiled binary {want}"
            ));
        }
    }
    Ok(pid)
}

fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map_or(v6.is_loopback(), |v4| v4.is_loopback()),
        v4 => v4.is_loopback(),
    }
}

/// (address, socket inode) of the sockets in LISTEN state on `port` in a
/// `/proc/net/tcp` or `tcp6` table.
fn listening_sockets(table: &str, port: u16) -> Vec<(IpAddr, u64)> {
    const LISTEN: &str = "0A";
    let mut out = Vec::new();
    for line in table.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (Some(local), Some(&state), Some(inode)) = (f.get(1), f.get(3), f.get(9)) else {
            continue;
        };
        let Some((addr, p)) = local.split_once(':') else {
            continue;
        };
        if state != LISTEN || u16::from_str_radix(p, 16) != Ok(port) {
            continue;
        }
        if let (Some(ip), Ok(inode)) = (kernel_address(addr), inode.parse()) {
            out.push((ip, inode));
        }
    }
    out
}

/// The kernel prints an address as its 32-bit words in host byte order.
fn kernel_address(hex: &str) -> Option<IpAddr> {
    let word = |i: usize| {
        hex.get(i * 8..i * 8 + 8)
            .and_then(|w| u32::from_str_radix(w, 16).ok())
            .map(u32::to_ne_bytes)
    };
    match hex.len() {
        8 => Some(IpAddr::V4(Ipv4Addr::from(word(0)?))),
        32 => {
            let mut b = [0u8; 16];
            for i in 0..4 {
                b[i * 4..i * 4 + 4].copy_from_slice(&word(i)?);
            }
            Some(IpAddr::V6(Ipv6Addr::from(b)))
        }
        _ => None,
    }
}

/// The lowest pid under `proc` with an fd on socket `inode`. Processes
/// whose fds we may not read (another user's, without privilege) are
/// skipped.
fn pid_holding_socket(proc: &Path, inode: u64) -> Option<u32> {
    let want = format!("socket:[{inode}]");
    let mut pids: Vec<u32> = std::fs::read_dir(proc)
        .ok()?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    pids.sort_unstable();
    pids.into_iter().find(|pid| {
        let Ok(fds) = std::fs::read_dir(proc.join(pid.to_string()).join("fd")) else {
            return false;
        };
        fds.filter_map(Result::ok)
            .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|l| l.as_os_str() == want.as_str()))
    })
}

/// The memory lines of `/proc/PID/status`, in bytes.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct ProcStatus {
    /// VmRSS.
    pub rss: u64,
    pub rss_anon: Option<u64>,
    pub rss_file: Option<u64>,
    pub rss_shmem: Option<u64>,
    /// VmSize.
    pub virtual_size: Option<u64>,
}

impl ProcStatus {
    fn read(pid: u32) -> std::io::Result<ProcStatus> {
        let path = format!("/proc/{pid}/status");
        let text = std::fs::read_to_string(&path)?;
        ProcStatus::parse(&text).ok_or_else(|| {
            std::io::Error::other(format!(
                "{path}: no VmRSS line (a kernel thread or a zombie)"
            ))
        })
    }

    /// `None` without a VmRSS line.
    fn parse(text: &str) -> Option<ProcStatus> {
        let kb = |key: &str| {
            text.lines().find_map(|l| {
                let v = l.strip_prefix(key)?.strip_prefix(':')?.trim();
                let n: u64 = v.strip_suffix("kB")?.trim().parse().ok()?;
                Some(n * 1024)
            })
        };
        Some(ProcStatus {
            rss: kb("VmRSS")?,
            rss_anon: kb("RssAnon"),
            rss_file: kb("RssFile"),
            rss_shmem: kb("RssShmem"),
            virtual_size: kb("VmSize"),
        })
    }

    /// A Prometheus exposition of these values, client_golang's names
    /// where it has one.
    fn exposition(&self, pid: u32) -> String {
        let mut out = format!("# heapdrift: from /proc/{pid}/status\n");
        let mut gauge = |name: &str, help: &str, v: Option<u64>| {
            if let Some(v) = v {
                let _ = write!(
                    out,
                    "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}\n"
                );
            }
        };
        gauge(
            "process_resident_memory_bytes",
            "Resident memory size in bytes (VmRSS).",
            Some(self.rss),
        );
        gauge(
            "process_virtual_memory_bytes",
            "Virtual memory size in bytes (VmSize).",
            self.virtual_size,
        );
        gauge(
            "heapdrift_process_rss_anon_bytes",
            "Resident anonymous memory in bytes (RssAnon).",
            self.rss_anon,
        );
        gauge(
            "heapdrift_process_rss_file_bytes",
            "Resident file mappings in bytes (RssFile).",
            self.rss_file,
        );
        gauge(
            "heapdrift_process_rss_shmem_bytes",
            "Resident shared memory in bytes (RssShmem).",
            self.rss_shmem,
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_test_process_is_found_listening_on_its_port() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let me = std::process::id();
        let host = IpAddr::V4(Ipv4Addr::LOCALHOST);
        assert_eq!(find_listener(host, port, None), Ok(me));
        // Our own binary is the profiled one; another is refused.
        let exe = std::env::current_exe().unwrap();
        assert_eq!(
            find_listener(host, port, Some(exe.to_str().unwrap())),
            Ok(me)
        );
        let other = find_listener(host, port, Some("/srv/other-service")).unwrap_err();
        assert!(other.contains(&format!("held by pid {me}")), "{other}");
        // And on IPv6 loopback.
        let l6 = std::net::TcpListener::bind("[::1]:0").unwrap();
        let port6 = l6.local_addr().unwrap().port();
        assert_eq!(
            find_listener(IpAddr::V6(Ipv6Addr::LOCALHOST), port6, None),
            Ok(me)
        );
        drop(l);
        let gone = find_listener(host, port, None).unwrap_err();
        assert!(gone.contains("no socket"), "{gone}");
    }

    #[test]
    fn our_own_status_reads_and_round_trips_through_the_metrics_parser() {
        let me = std::process::id();
        let st = ProcStatus::read(me).unwrap();
        assert!(st.rss > 1 << 20, "{st:?}");
        let text = st.exposition(me);
        assert!(text.starts_with(&format!("# heapdrift: from /proc/{me}/status\n")));
        assert_eq!(
            profile::metrics::resident_memory_bytes(text.as_bytes()),
            Ok(Some(st.rss))
        );
        let mut src = RssSource::Proc {
            pid: me,
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 1,
        };
        let r = read(
            &Client::new(std::time::Duration::from_secs(1)),
            &mut src,
            None,
        )
        .unwrap();
        assert!(r.rss > 1 << 20);
    }

    #[test]
    fn proc_tables_and_status() {
        let tcp = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 111 1 0 100 0 0 10 0\n\
   1: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 222 1 0 100 0 0 10 0\n\
   2: 0100007F:1F90 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 333 1 0 100 0 0 10 0\n\
   3: 0100007F:1F91 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 444 1 0 100 0 0 10 0\n";
        assert_eq!(
            listening_sockets(tcp, 0x1F90),
            vec![
                (IpAddr::V4(Ipv4Addr::LOCALHOST), 111),
                (IpAddr::V4(Ipv4Addr::UNSPECIFIED), 222)
            ]
        );
        assert_eq!(
            kernel_address("00000000000000000000000001000000"),
            Some(IpAddr::V6(Ipv6Addr::LOCALHOST))
        );
        assert_eq!(kernel_address("zz"), None);
        let status = "Name:\tsvc\nVmSize:\t  1000 kB\nVmRSS:\t     200 kB\nRssAnon:\t  150 kB\nRssFile:\t  50 kB\nRssShmem:\t 0 kB\n";
        assert_eq!(
            ProcStatus::parse(status),
            Some(ProcStatus {
                rss: 204_800,
                rss_anon: Some(153_600),
                rss_file: Some(51_200),
                rss_shmem: Some(0),
                virtual_size: Some(1_024_000),
            })
        );
        assert_eq!(ProcStatus::parse("Name:\tkthreadd\n"), None);
    }

    #[test]
    fn only_loopback_targets_are_looked_up_in_proc() {
        let lo4 = IpAddr::V4(Ipv4Addr::LOCALHOST);
        assert_eq!(
            loopback_host_port("http://127.0.0.1:6060"),
            Some((lo4, 6060))
        );
        assert_eq!(loopback_host_port("http://localhost"), Some((lo4, 80)));
        assert_eq!(
            loopback_host_port("https://[::1]:8443/admin"),
            Some((IpAddr::V6(Ipv6Addr::LOCALHOST), 8443))
        );
        assert_eq!(loopback_host_port("http://10.0.0.7:6060"), None);
        assert_eq!(loopback_host_port("http://svc:6060"), None);
    }
}
