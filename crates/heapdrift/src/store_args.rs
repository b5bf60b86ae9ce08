//! How to reach a profile store (Pyroscope): the flags `push` and
//! `hunt --from` share.

use anyhow::bail;
use clap::Args;
use fetch::pyroscope::ServerOptions;

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
