//! The leak dashboard of `heapdrift serve`: targets and series of an
//! archive (or plain snapshot files), `drift::hunt`'s findings with their
//! timeline plots, the MemStats accounting over time, and links into the
//! pprof views of any snapshot (or the diff of two).
//!
//! The page is static (embedded HTML, hand-written JS and CSS); the JS
//! draws the plots as SVG from the JSON endpoints in [`api`] (shapes in
//! docs/dashboard.md). Every profile-derived string reaches the page only
//! through JSON whose `<`, `>` and `&` are escaped and DOM `textContent`,
//! never `innerHTML`.

pub mod api;
pub mod data;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

pub use data::{Dashboard, DashboardError};

const PAGE: &str = include_str!("../../assets/dashboard.html");
const SCRIPT: &str = include_str!("../../assets/dashboard.js");
const STYLE: &str = include_str!("../../assets/dashboard.css");

/// `/` (the page), `/dashboard/*` (its script and style) and `/api/*`.
pub fn dashboard_router(d: Arc<Dashboard>) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/dashboard/dashboard.js", get(script))
        .route("/dashboard/dashboard.css", get(style))
        .route("/api/targets", get(targets))
        .route("/api/fleet", get(fleet))
        .route("/api/series/{id}/findings", get(findings))
        .route("/api/series/{id}/memory", get(memory))
        .route("/api/series/{id}/snapshots", get(snapshots))
        .with_state(d)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (
                header::CONTENT_SECURITY_POLICY,
                crate::html::CONTENT_SECURITY_POLICY,
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

async fn page() -> Response {
    asset("text/html; charset=utf-8", PAGE)
}

async fn script() -> Response {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

async fn style() -> Response {
    asset("text/css; charset=utf-8", STYLE)
}

fn json(status: StatusCode, body: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "application/json; charset=utf-8"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

fn error(e: &DashboardError) -> Response {
    let status = match e {
        DashboardError::NotFound(_) => StatusCode::NOT_FOUND,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    json(
        status,
        api::to_safe_json(&serde_json::json!({ "error": e.to_string() })),
    )
}

/// Runs `f` off the async workers (it reads files and SQLite, and may run
/// a whole analysis) and answers with its JSON or its error.
async fn blocking(f: impl FnOnce() -> Result<String, DashboardError> + Send + 'static) -> Response {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(body)) => json(StatusCode::OK, body),
        Ok(Err(e)) => error(&e),
        Err(e) => error(&DashboardError::Internal(e.to_string())),
    }
}

async fn targets(State(d): State<Arc<Dashboard>>) -> Response {
    blocking(move || {
        let (source, path) = d.describe();
        let doc = series::json::Targets {
            source,
            path,
            targets: d.targets()?,
        };
        Ok(api::to_safe_json(&doc))
    })
    .await
}

/// Per service of a fleet (`serve --from`), its sites ranked by the
/// replicas they grow on; 404 for an archive or files.
async fn fleet(State(d): State<Arc<Dashboard>>) -> Response {
    blocking(move || match d.fleet_doc() {
        Some(doc) => Ok(api::to_safe_json(&doc)),
        None => Err(DashboardError::NotFound(
            "fleet (the dashboard is not served from a profile store)".into(),
        )),
    })
    .await
}

async fn findings(State(d): State<Arc<Dashboard>>, Path(id): Path<String>) -> Response {
    blocking(move || {
        let a = d.analysis(&id)?;
        Ok(api::to_safe_json(&api::findings(&id, &a)))
    })
    .await
}

async fn memory(State(d): State<Arc<Dashboard>>, Path(id): Path<String>) -> Response {
    blocking(move || {
        let a = d.analysis(&id)?;
        Ok(api::to_safe_json(&api::memory(&id, &a)))
    })
    .await
}

async fn snapshots(State(d): State<Arc<Dashboard>>, Path(id): Path<String>) -> Response {
    blocking(move || {
        let a = d.analysis(&id)?;
        Ok(api::to_safe_json(&series::json::Snapshots {
            series: &id,
            snapshots: &a.snapshots,
        }))
    })
    .await
}

/// The pprof views' `src`/`base` are snapshot ids (see [`Dashboard::profile`]).
impl crate::ProfileSource for Dashboard {
    fn load(&self, src: Option<&str>, base: Option<&str>) -> Result<Arc<profile::Profile>, String> {
        self.profile(src, base).map_err(|e| e.to_string())
    }

    fn title(&self, src: Option<&str>) -> String {
        Dashboard::title(self, src)
    }
}
