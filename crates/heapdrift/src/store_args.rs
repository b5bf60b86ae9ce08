//! How to reach a profile store (Pyroscope, Parca): the flags `push`, `hunt
//! --from` and `serve --from` share, and what to read from it (`hunt` and
//! `serve`).

use anyhow::bail;
use clap::Args;
use fetch::store::ServerOptions;

#[derive(Debug, Default, Args)]
pub struct StoreArgs {
    /// Tenant, sent as X-Scope-OrgID.
    #[arg(long, value_name = "ID")]
    pub tenant: Option<String>,
    /// An extra request header, `NAME: VALUE` (repeatable).
    #[arg(long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// HTTP basic auth (also accepted as user:password@ in the URL).
    #[arg(long, value_name = "USER:PASSWORD")]
    pub basic_auth: Option<String>,
    /// Bearer token for the Authorization header.
    #[arg(long, value_name = "TOKEN")]
    pub bearer_token: Option<String>,
}

impl StoreArgs {
    /// The server options these flags give (timeouts and retries at their
    /// defaults).
    pub fn options(&self) -> anyhow::Result<ServerOptions> {
        let headers = self
            .headers
            .iter()
            .map(|h| match h.split_once(':') {
                Some((k, v)) if !k.trim().is_empty() => {
                    Ok((k.trim().to_string(), v.trim().to_string()))
                }
                _ => bail!("--header {h:?}: expected NAME: VALUE"),
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let basic_auth = match &self.basic_auth {
            Some(b) => match b.split_once(':') {
                Some((u, p)) => Some((u.to_string(), p.to_string())),
                None => bail!("--basic-auth: expected USER:PASSWORD"),
            },
            None => None,
        };
        Ok(ServerOptions {
            tenant: self.tenant.clone(),
            headers,
            basic_auth,
            bearer_token: self.bearer_token.clone(),
            ..Default::default()
        })
    }
}

/// What to read from a store: the flags `hunt --from` and `serve --from`
/// share (each command has its own `--from`, which these require).
#[derive(Debug, Default, Args)]
pub struct FleetArgs {
    /// --from: the services to read (repeatable; default every service
    /// with Go heap or goroutine profiles).
    #[arg(long, value_name = "NAME", requires = "from")]
    pub service: Vec<String>,
    /// --from: an extra label matcher, e.g. namespace="prod" (repeatable).
    #[arg(long = "selector", value_name = "MATCHER", requires = "from")]
    pub matchers: Vec<String>,
    /// --from: the window, back from --to-time (Go-style duration).
    #[arg(long, value_name = "DURATION", value_parser = crate::watch_cmd::parse_duration, requires = "from", conflicts_with = "from_time")]
    pub since: Option<std::time::Duration>,
    /// --from: the window's start, RFC 3339 in UTC (2026-12-03T10:00:00Z).
    #[arg(long, value_name = "TIME", value_parser = parse_utc_ms, requires = "from")]
    pub from_time: Option<i64>,
    /// --from: the window's end (default now), RFC 3339 in UTC.
    #[arg(long, value_name = "TIME", value_parser = parse_utc_ms, requires = "from")]
    pub to_time: Option<i64>,
    /// --from: one snapshot per step (the last in each), e.g. 1m; default
    /// every snapshot the store holds.
    #[arg(long, value_name = "DURATION", value_parser = crate::watch_cmd::parse_duration, requires = "from")]
    pub step: Option<std::time::Duration>,
    /// --from: the label that tells a service's instances apart.
    #[arg(long, value_name = "LABEL", default_value = "instance")]
    pub group_by: String,
    /// --from: read only the K instances of each service whose in-use heap
    /// or goroutine count grows most (a triage on the stored totals).
    #[arg(long, value_name = "K", requires = "from")]
    pub replicas: Option<usize>,
    /// --from: read only shard I of N (0-based), split by a fixed hash of
    /// service and instance, so that N workers cover the fleet exactly
    /// once.
    #[arg(long, value_name = "I/N", value_parser = parse_shard, requires = "from")]
    pub shard: Option<(u32, u32)>,
    /// --from: instances read at the same time.
    #[arg(long, value_name = "N", default_value_t = 8, requires = "from")]
    pub jobs: usize,
}

impl FleetArgs {
    /// The query these flags give, its window ending now unless
    /// --to-time says otherwise (default 2 h long).
    pub fn query(&self) -> anyhow::Result<series::fleet::FleetQuery> {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let end_ms = self.to_time.unwrap_or(now_ms);
        let start_ms = self.from_time.unwrap_or_else(|| {
            end_ms
                - self
                    .since
                    .unwrap_or(std::time::Duration::from_secs(7200))
                    .as_millis() as i64
        });
        if start_ms >= end_ms {
            bail!("--from-time must be before --to-time");
        }
        Ok(series::fleet::FleetQuery {
            services: self.service.clone(),
            matchers: self.matchers.clone(),
            start_ms,
            end_ms,
            step_ms: self.step.map(|d| d.as_millis() as i64),
            group_by: self.group_by.clone(),
            replicas: self.replicas,
            shard: self.shard,
        })
    }

    /// Why `q` found nothing to read.
    pub fn nothing_found(&self, q: &series::fleet::FleetQuery) -> String {
        format!(
            "no service with Go heap or goroutine profiles between {} and {} (UTC){}",
            utc_ms(q.start_ms),
            utc_ms(q.end_ms),
            if self.service.is_empty() {
                String::new()
            } else {
                format!(" named {}", self.service.join(", "))
            }
        )
    }
}

/// `I/N` with 0 <= I < N.
fn parse_shard(s: &str) -> Result<(u32, u32), String> {
    let bad = || format!("{s:?}: expected I/N with 0 <= I < N, e.g. 0/4");
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let (i, n): (u32, u32) = (i.parse().map_err(|_| bad())?, n.parse().map_err(|_| bad())?);
    if n == 0 || i >= n {
        return Err(bad());
    }
    Ok((i, n))
}

/// Unix milliseconds as RFC 3339 in UTC.
fn utc_ms(ms: i64) -> String {
    watch::view::utc(std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64))
}

/// RFC 3339 in UTC, to Unix milliseconds.
fn parse_utc_ms(s: &str) -> Result<i64, String> {
    match series::time_from_name(s) {
        Some(ns) if s.ends_with('Z') && s.len() >= 20 => Ok(ns.div_euclid(1_000_000)),
        _ => Err(format!(
            "{s:?} is not a time in RFC 3339 in UTC (e.g. 2026-12-03T10:00:00Z)"
        )),
    }
}
