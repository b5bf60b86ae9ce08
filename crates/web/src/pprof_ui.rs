//! pprof's web UI views (internal/driver/webui.go): flame graph, top,
//! graph, peek and source, under `/ui`.
//!
//! All view state lives in the URL, with pprof's parameter names (the
//! `urlparam`s of [`report::config`]: `si`, `f`, `i`, `h`, `s`, `sf`,
//! `sort`, ...), so a link reproduces a view. Two more parameters are
//! opaque to the views and handed to the [`ProfileSource`]: `src` and
//! `base`. Every link and form of a page carries all of them.
//!
//! Each request runs its config through [`report::driver`] (the pipeline
//! of `heapdrift pprof`), so the numbers are exactly the CLI's.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Query, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use profile::Profile;
use report::Report;
use report::config::{self, Config};
use report::driver::{self, DriverError, Env, ReportSource};

use crate::html::{CONTENT_SECURITY_POLICY, Params, esc, quote_meta};

/// Where the views get their profile. `src` and `base` are the opaque
/// `src`/`base` URL query parameters (None when absent). `pprof -http`
/// ignores them (its sources come from the command line); `heapdrift
/// serve` maps them to archived snapshots, `base` meaning pprof's
/// `-diff_base`.
///
/// The profile returned is what the pipeline starts from: sources merged
/// and, for a base, the base merged in negated with the `pprof::base`
/// label (what [`report::driver::combine_sources`] makes with
/// `diff_base`). Each request works on its own copy.
pub trait ProfileSource: Send + Sync + 'static {
    /// The profile for these parameters, or a one-line error shown to the user.
    fn load(&self, src: Option<&str>, base: Option<&str>) -> Result<Arc<Profile>, String>;
    /// A short title for the page (e.g. the source file or snapshot name).
    fn title(&self, src: Option<&str>) -> String;
    /// Whether `load` gives the same profile for the same parameters for
    /// as long as the server runs: then the last few pages are kept and
    /// served again without building their report.
    fn unchanging(&self) -> bool {
        false
    }
}

/// A [`ProfileSource`] of one fixed profile (what `pprof -http` serves):
/// `src` and `base` are ignored.
pub struct FixedSource {
    pub profile: Arc<Profile>,
    pub title: String,
}

impl ProfileSource for FixedSource {
    fn load(&self, _src: Option<&str>, _base: Option<&str>) -> Result<Arc<Profile>, String> {
        Ok(self.profile.clone())
    }
    fn title(&self, _src: Option<&str>) -> String {
        self.title.clone()
    }
    fn unchanging(&self) -> bool {
        true
    }
}

struct Ui {
    source: Arc<dyn ProfileSource>,
    defaults: Config,
    /// The last pages of an unchanging source, oldest first: going back and
    /// forth between the views of a large profile (0.3-0.5 s of report per
    /// page) does not build them again.
    pages: Mutex<VecDeque<(PageKey, (StatusCode, String))>>,
    /// Reports of the profile last viewed share its prepared copies (see
    /// `ReportSource`); one view's report at a time.
    reports: Mutex<Option<ReportSource>>,
}

/// A page: its view and query.
type PageKey = (View, String);

/// How many pages [`Ui::pages`] keeps.
const KEEP_PAGES: usize = 8;

impl Ui {
    /// The report for a view of `prof`, through the session of the profile
    /// last viewed (a new one when `prof` is another profile).
    fn make_report(
        &self,
        prof: &Arc<Profile>,
        cmd: &config::Command,
        arg: Option<&str>,
        cfg: &Config,
        edit: &dyn Fn(&mut Config),
        env: &mut Env,
    ) -> Result<Report, DriverError> {
        let mut reports = self.reports.lock().unwrap_or_else(|e| e.into_inner());
        let same = reports
            .as_ref()
            .and_then(ReportSource::profile)
            .is_some_and(|p| Arc::ptr_eq(p, prof));
        if !same {
            *reports = None;
        }
        let source = reports.get_or_insert_with(|| ReportSource::session(prof.clone()));
        source.make_report(cmd, arg, cfg, edit, env)
    }

    /// The page, from the cache when the source allows it.
    fn page(&self, view: View, params: &Params) -> (StatusCode, String) {
        if !self.source.unchanging() {
            return render_view(self, view, params);
        }
        let key = (view, params.query());
        let lock = || self.pages.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, page)) = lock().iter().find(|(k, _)| *k == key) {
            return page.clone();
        }
        let page = render_view(self, view, params);
        if page.0 == StatusCode::OK {
            let mut pages = lock();
            if pages.len() >= KEEP_PAGES {
                pages.pop_front();
            }
            pages.push_back((key, page.clone()));
        }
        page
    }
}

/// The views, routed under `/ui`: `/ui/flamegraph` (the default; `/ui` and
/// `/ui/` redirect to it keeping the query), `/ui/top`, `/ui/graph`,
/// `/ui/peek`, `/ui/source`, and the embedded assets under `/ui/assets/`.
/// `defaults` is the config URL parameters start from (the command line's,
/// including `-source_path`/`-trim_path` for the source view).
pub fn pprof_ui_router(source: Arc<dyn ProfileSource>, defaults: Config) -> Router {
    let ui = Arc::new(Ui {
        source,
        defaults,
        reports: Mutex::new(None),
        pages: Mutex::new(VecDeque::new()),
    });
    Router::new()
        .route("/ui", get(redirect_to_flamegraph))
        .route("/ui/", get(redirect_to_flamegraph))
        .route("/ui/flamegraph", get(view_flamegraph))
        .route("/ui/top", get(view_top))
        .route("/ui/graph", get(view_graph))
        .route("/ui/peek", get(view_peek))
        .route("/ui/source", get(view_source))
        .route("/ui/download", get(download))
        .route("/ui/assets/{name}", get(asset))
        .with_state(ui)
}

/// Adds pprof's `/` → `/ui/flamegraph` redirect (keeping the query), for
/// servers where the views are the whole site (`pprof -http`).
pub fn with_root_redirect(router: Router) -> Router {
    router.route("/", get(redirect_to_flamegraph))
}

async fn redirect_to_flamegraph(RawQuery(q): RawQuery) -> Response {
    let target = match q {
        Some(q) if !q.is_empty() => format!("/ui/flamegraph?{q}"),
        _ => "/ui/flamegraph".to_string(),
    };
    let mut r = StatusCode::MOVED_PERMANENTLY.into_response();
    if let Ok(v) = HeaderValue::from_str(&target) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// pprof's `/download`: the profile the views start from (sources merged,
/// a base merged in as pprof's `-diff_base` does), as profile.proto.
async fn download(State(ui): State<Arc<Ui>>, Query(q): Query<Vec<(String, String)>>) -> Response {
    let params = Params(q);
    let bytes = tokio::task::spawn_blocking(move || {
        let p = ui.source.load(params.get("src"), params.get("base"))?;
        Ok::<_, String>(profile::gz::compress(&profile::proto::encode(&p)))
    })
    .await;
    match bytes {
        Ok(Ok(b)) => {
            let mut r = b.into_response();
            let h = r.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/vnd.google.protobuf+gzip"),
            );
            h.insert(
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment;filename=profile.pb.gz"),
            );
            r
        }
        Ok(Err(e)) => (StatusCode::NOT_FOUND, format!("{e}\n")).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// The assets, embedded: hand-written, no build step.
static ASSETS: &[(&str, &str, &str)] = &[
    (
        "ui.css",
        "text/css; charset=utf-8",
        include_str!("../assets/ui.css"),
    ),
    (
        "ui.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/ui.js"),
    ),
    (
        "flame.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/flame.js"),
    ),
];

async fn asset(axum::extract::Path(name): axum::extract::Path<String>) -> Response {
    match ASSETS.iter().find(|(n, _, _)| *n == name) {
        Some((_, ctype, body)) => {
            let mut r = (*body).into_response();
            let h = r.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            h.insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            r
        }
        None => (StatusCode::NOT_FOUND, "not found\n").into_response(),
    }
}

/// An HTML response with the security headers every page gets.
pub fn html_response(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum View {
    Flame,
    Top,
    Graph,
    Peek,
    Source,
}

impl View {
    const ALL: [View; 5] = [
        View::Top,
        View::Graph,
        View::Flame,
        View::Peek,
        View::Source,
    ];

    fn path(self) -> &'static str {
        match self {
            View::Flame => "flamegraph",
            View::Top => "top",
            View::Graph => "graph",
            View::Peek => "peek",
            View::Source => "source",
        }
    }

    fn label(self) -> &'static str {
        match self {
            View::Flame => "Flame Graph",
            View::Top => "Top",
            View::Graph => "Graph",
            View::Peek => "Peek",
            View::Source => "Source",
        }
    }

    fn help(self) -> &'static str {
        match self {
            View::Flame => "Display profile as a flame graph",
            View::Top => "Top entries by flat or cumulative value",
            View::Graph => "Display profile as a directed graph",
            View::Peek => "Callers and callees of functions matching the focus regexp",
            View::Source => "Annotated source of functions matching the focus regexp",
        }
    }
}

async fn view_flamegraph(state: State<Arc<Ui>>, q: Query<Vec<(String, String)>>) -> Response {
    run(state, q, View::Flame).await
}
async fn view_top(state: State<Arc<Ui>>, q: Query<Vec<(String, String)>>) -> Response {
    run(state, q, View::Top).await
}
async fn view_graph(state: State<Arc<Ui>>, q: Query<Vec<(String, String)>>) -> Response {
    run(state, q, View::Graph).await
}
async fn view_peek(state: State<Arc<Ui>>, q: Query<Vec<(String, String)>>) -> Response {
    run(state, q, View::Peek).await
}
async fn view_source(state: State<Arc<Ui>>, q: Query<Vec<(String, String)>>) -> Response {
    run(state, q, View::Source).await
}

async fn run(
    State(ui): State<Arc<Ui>>,
    Query(q): Query<Vec<(String, String)>>,
    view: View,
) -> Response {
    let params = Params(q);
    // Reports are CPU work (seconds on big profiles): off the async workers.
    let page = tokio::task::spawn_blocking(move || ui.page(view, &params)).await;
    match page {
        Ok((status, body)) => html_response(status, body),
        Err(_) => html_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            "<!DOCTYPE html><title>error</title><p>internal error</p>".into(),
        ),
    }
}

/// What the header of a page shows.
struct PageCtx<'a> {
    view: View,
    params: &'a Params,
    title: String,
    sample_types: Vec<String>,
    sample_type: String,
    legend: Vec<String>,
    errors: Vec<String>,
}

/// Builds a view: (status, HTML).
fn render_view(ui: &Ui, view: View, params: &Params) -> (StatusCode, String) {
    let src = params.get("src");
    let base = params.get("base");
    let mut ctx = PageCtx {
        view,
        params,
        title: ui.source.title(src),
        sample_types: Vec::new(),
        sample_type: String::new(),
        legend: Vec::new(),
        errors: Vec::new(),
    };
    let prof = match ui.source.load(src, base) {
        Ok(p) => p,
        Err(e) => {
            ctx.errors.push(e);
            return (StatusCode::NOT_FOUND, page(&ctx, "", &[]));
        }
    };
    ctx.sample_types = prof.sample_types.iter().map(|t| t.r#type.clone()).collect();

    let mut cfg = ui.defaults.clone();
    if let Err(e) = cfg.apply_url(|k| params.get(k)) {
        ctx.errors.push(e.to_string());
        return (StatusCode::BAD_REQUEST, page(&ctx, "", &[]));
    }
    if let Ok(i) = driver::sample_index_by_name(&prof, &cfg.sample_index) {
        ctx.sample_type = ctx.sample_types.get(i).cloned().unwrap_or_default();
    }

    let focus = params.get("f").unwrap_or("").to_string();
    let (cmd_name, arg) = match view {
        View::Top => ("top", None),
        View::Graph => ("svg", None),
        View::Flame => ("svg", None),
        View::Peek => ("peek", Some(focus.as_str())),
        View::Source => ("list", Some(focus.as_str())),
    };
    if arg == Some("") {
        let body = format!(
            "<p class=\"hint\" id=\"need-focus\">{} needs a regexp: type one in <b>focus</b> \
             above, or click a name in <a href=\"{}\">Top</a>.</p>",
            view.label(),
            params.href("top")
        );
        return (StatusCode::OK, page(&ctx, &body, &[]));
    }
    // pprof's per-view config editors (webui.go, stacks.go).
    let edit: &dyn Fn(&mut Config) = match view {
        View::Top => &|cfg: &mut Config| cfg.nodecount = 500,
        View::Peek => &|cfg: &mut Config| cfg.granularity = "lines".into(),
        View::Flame => &report::flame::edit_config,
        View::Graph | View::Source => &driver::no_edit,
    };
    let cmd = config::command(cmd_name).expect("a command of pprof's table");

    let mut stderr = Vec::new();
    let read = |path: &str| std::fs::read(path);
    let working_dir = std::env::current_dir()
        .map(|d| d.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut env = Env {
        stderr: &mut stderr,
        read_file: &read,
        working_dir,
        obj: &report::obj::NoBinaries,
    };
    let result = ui
        .make_report(&prof, cmd, arg, &cfg, edit, &mut env)
        .and_then(|mut rpt| {
            let body = match view {
                View::Top => top_body(&mut rpt, params, &mut ctx),
                View::Graph => graph_body(&mut rpt, &mut ctx),
                View::Flame => flame_body(&mut rpt, &mut ctx),
                View::Peek | View::Source => {
                    let mut text = Vec::new();
                    driver::write_report(&mut rpt, cmd, &mut env, &mut text)?;
                    ctx.legend = rpt.profile_labels();
                    Ok(format!(
                        "<pre id=\"report\" class=\"report\">{}</pre>",
                        esc(&String::from_utf8_lossy(&text))
                    ))
                }
            }?;
            // Reports of big profiles are freed off the request path.
            std::thread::spawn(move || drop(rpt));
            Ok(body)
        });
    ctx.errors.extend(
        String::from_utf8_lossy(&stderr)
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_string),
    );
    match result {
        Ok(body) => {
            let scripts: &[&str] = match view {
                View::Flame => &["flame.js"],
                _ => &[],
            };
            (StatusCode::OK, page(&ctx, &body, scripts))
        }
        Err(e) => {
            ctx.errors.push(e.message());
            (StatusCode::BAD_REQUEST, page(&ctx, "", &[]))
        }
    }
}

/// The refine parameters, with pprof's names and labels.
const REFINE: &[(&str, &str)] = &[
    ("f", "focus"),
    ("i", "ignore"),
    ("h", "hide"),
    ("s", "show"),
    ("sf", "show_from"),
];

/// The whole page around a view's body.
fn page(ctx: &PageCtx, body: &str, scripts: &[&str]) -> String {
    let p = ctx.params;
    let mut h = String::with_capacity(body.len() + 8192);
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    h.push_str("<link rel=\"icon\" href=\"data:,\">");
    h.push_str("<link rel=\"stylesheet\" href=\"/ui/assets/ui.css\">");
    let type_part = if ctx.sample_type.is_empty() {
        String::new()
    } else {
        format!(" {}", ctx.sample_type)
    };
    h.push_str(&format!(
        "<title>{} {}{} — heapdrift</title></head>\n<body data-view=\"{}\">\n",
        esc(&ctx.title),
        esc(ctx.view.label()),
        esc(&type_part),
        ctx.view.path()
    ));
    h.push_str("<header class=\"header\">\n<div class=\"brand\">heapdrift</div>\n");

    // View switcher: same state, other view.
    h.push_str("<nav class=\"views\" id=\"views\">");
    for v in View::ALL {
        let cls = if v == ctx.view {
            " class=\"current\""
        } else {
            ""
        };
        h.push_str(&format!(
            "<a id=\"view-{}\"{} title=\"{}\" href=\"{}\">{}</a>",
            v.path(),
            cls,
            esc(v.help()),
            p.href(v.path()),
            v.label()
        ));
    }
    h.push_str(&format!(
        "<a id=\"download\" class=\"download\" title=\"The profile as profile.proto\" \
         href=\"{}\">Download</a>",
        p.only(&["src", "base"]).href("download")
    ));
    h.push_str("</nav>\n");

    // Sample types: pprof's `si`.
    if ctx.sample_types.len() > 1 {
        h.push_str("<nav class=\"samples\" id=\"samples\"><span class=\"label\">Sample:</span>");
        for t in &ctx.sample_types {
            let cls = if *t == ctx.sample_type {
                " class=\"current\""
            } else {
                ""
            };
            h.push_str(&format!(
                "<a{} data-si=\"{}\" href=\"{}\">{}</a>",
                cls,
                esc(t),
                p.with("si", t).href(ctx.view.path()),
                esc(t)
            ));
        }
        h.push_str("</nav>\n");
    }

    // Refine: a GET form on this view; everything else rides along hidden.
    h.push_str(&format!(
        "<form class=\"refine\" id=\"refine\" method=\"get\" action=\"{}\">",
        ctx.view.path()
    ));
    for (k, v) in &p.0 {
        if REFINE.iter().any(|(r, _)| r == k) {
            continue;
        }
        h.push_str(&format!(
            "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
            esc(k),
            esc(v)
        ));
    }
    for (param, name) in REFINE {
        let help = config::lookup(name)
            .map(|f| f.help.lines().next().unwrap_or(""))
            .unwrap_or("");
        h.push_str(&format!(
            "<label title=\"{}\">{}<input type=\"text\" name=\"{}\" id=\"refine-{}\" value=\"{}\" \
             autocomplete=\"off\" autocapitalize=\"none\" spellcheck=\"false\"></label>",
            esc(help),
            name,
            param,
            param,
            esc(p.get(param).unwrap_or(""))
        ));
    }
    h.push_str("<button type=\"submit\" id=\"refine-apply\">Apply</button>");
    h.push_str(&format!(
        "<a id=\"refine-reset\" title=\"Show the entire profile\" href=\"{}\">Reset</a>",
        p.only(&["src", "base", "si"]).href(ctx.view.path())
    ));
    h.push_str("</form>\n");

    h.push_str(&format!(
        "<details class=\"description\"><summary id=\"title\">{}{}</summary>",
        esc(&ctx.title),
        esc(&type_part)
    ));
    for l in &ctx.legend {
        h.push_str(&format!("<div>{}</div>", esc(l)));
    }
    h.push_str("</details>\n</header>\n");

    if !ctx.errors.is_empty() {
        h.push_str("<div id=\"errors\" class=\"errors\">");
        for e in &ctx.errors {
            h.push_str(&format!("<div>{}</div>", esc(e)));
        }
        h.push_str("</div>\n");
    }
    h.push_str(&format!(
        "<main id=\"content\" class=\"view-{}\">\n",
        ctx.view.path()
    ));
    h.push_str(body);
    h.push_str("\n</main>\n<script src=\"/ui/assets/ui.js\"></script>\n");
    for s in scripts {
        h.push_str(&format!("<script src=\"/ui/assets/{s}\"></script>\n"));
    }
    h.push_str("</body></html>\n");
    h
}

/// pprof's top view: the `top` report's rows (500 at most) as a table,
/// sorted by `sort` (flat or cum); a name links to its focus, peek and
/// source views.
fn top_body(rpt: &mut Report, p: &Params, ctx: &mut PageCtx) -> Result<String, DriverError> {
    let (items, labels) = rpt.text_items();
    ctx.legend = labels;
    let total = rpt.total();
    let sort = if rpt.options.cum_sort { "cum" } else { "flat" };
    let sort_link = |key: &str, label: &str| {
        let cls = if sort == key { " class=\"sorted\"" } else { "" };
        format!(
            "<a id=\"sort-{key}\"{cls} title=\"Sort by {key}\" href=\"{}\">{label}</a>",
            p.with("sort", key).href("top")
        )
    };
    let mut h = String::with_capacity(items.len() * 400 + 1024);
    h.push_str("<table id=\"toptable\" class=\"top\"><thead><tr>");
    h.push_str(&format!(
        "<th>{}</th><th>Flat%</th><th>Sum%</th><th>{}</th><th>Cum%</th><th>Name</th><th></th>",
        sort_link("flat", "Flat"),
        sort_link("cum", "Cum")
    ));
    h.push_str("</tr></thead><tbody>\n");
    let mut sum = 0i64;
    for it in &items {
        sum = sum.wrapping_add(it.flat);
        let pct = |v: i64| esc(report::measurement::percentage(v, total).trim());
        let re = format!("^{}$", quote_meta(&it.name));
        let inl = if it.inline_label.is_empty() {
            String::new()
        } else {
            format!(" <span class=\"inline\">{}</span>", esc(&it.inline_label))
        };
        h.push_str(&format!(
            "<tr><td class=\"num flat\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num cum\">{}</td><td class=\"num\">{}</td>\
             <td class=\"name\"><a class=\"focus\" title=\"Focus on this function\" href=\"{}\">{}</a>{}</td>\
             <td class=\"links\"><a class=\"peek\" href=\"{}\">peek</a> <a class=\"source\" href=\"{}\">source</a></td></tr>\n",
            esc(&it.flat_format),
            pct(it.flat),
            pct(sum),
            esc(&it.cum_format),
            pct(it.cum),
            p.with("f", &re).href("top"),
            esc(&it.name),
            inl,
            p.with("f", &re).href("peek"),
            p.with("f", &re).href("source"),
        ));
    }
    h.push_str("</tbody></table>");
    Ok(h)
}

/// pprof's graph view: the DOT report through `dot -Tsvg`, inlined.
fn graph_body(rpt: &mut Report, ctx: &mut PageCtx) -> Result<String, DriverError> {
    let (g, labels) = rpt.dot_graph();
    ctx.legend = labels;
    let format = |v: i64| rpt.format_value(v);
    let c = report::dotgraph::DotConfig {
        // pprof leaves title and legend out of the web graph (the header
        // shows them).
        title: String::new(),
        legend_url: String::new(),
        labels: Vec::new(),
        format_value: &format,
        total: rpt.total(),
        nodes: Default::default(),
    };
    let dot = report::dotgraph::compose_dot(&g, &c);
    // Node `id="nodeK"` of the SVG is `g.nodes[K-1]`: the names let a click
    // on a node focus on it.
    let names: Vec<&str> = g
        .nodes
        .iter()
        .map(|&n| g.node(n).info.name.as_str())
        .collect();
    let names = serde_json::to_vec(&names).map_err(|e| DriverError::Msg(e.to_string()))?;
    match dot_to_svg(&dot) {
        Ok(svg) => Ok(format!(
            "<div id=\"graph\" class=\"graph\">{svg}</div>\
             <script type=\"application/json\" id=\"graph-nodes\">{}</script>",
            crate::html::json_for_script(&names)
        )),
        Err(e) => {
            ctx.errors.push(format!("Could not run dot: {e}"));
            Ok(
                "<p class=\"hint\" id=\"no-graphviz\">The graph view needs Graphviz: install \
                the <code>graphviz</code> package so that <code>dot</code> is on PATH.</p>"
                    .to_string(),
            )
        }
    }
}

/// `dot -Tsvg`, made safe to inline.
///
/// The DOT text escapes `\` and `"` (pprof's escapeForDot); Graphviz then
/// XML-escapes `<`, `>`, quotes and `&` in the SVG, except that it keeps
/// a `&` that starts an entity (`&amp;` stays `&amp;`, which a browser
/// would show as `&`). So every `&` of the DOT text is sent as `&amp;`:
/// names come back exactly, and the DOT syntax never contains `&` outside
/// strings.
fn dot_to_svg(dot: &str) -> Result<String, String> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let input = dot.replace('&', "&amp;");
    let mut child = Command::new("dot")
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("failed to execute dot ({e}); is Graphviz installed?"))?;
    let mut stdin = child.stdin.take().ok_or("no stdin for dot")?;
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let _ = writer.join();
    if !out.status.success() {
        return Err(format!(
            "dot failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let svg = String::from_utf8_lossy(&out.stdout);
    // Drop the XML prologue and doctype: inlined, the page's own apply.
    let start = svg.find("<svg").unwrap_or(0);
    let svg = &svg[start..];
    Ok(sanitize_svg(svg))
}

/// Belt and braces over Graphviz's escaping: every tag of the SVG is
/// checked (text between tags is escaped by Graphviz, so only tags can
/// carry code), and an SVG with a script-capable element, an event handler
/// attribute or a `javascript:` link is replaced by a message.
fn sanitize_svg(svg: &str) -> String {
    if svg_is_safe(svg) {
        svg.to_string()
    } else {
        "<p class=\"errors\">The graph from dot contained unexpected markup and was not \
         shown.</p>"
            .to_string()
    }
}

fn svg_is_safe(svg: &str) -> bool {
    const ALLOWED: &[&str] = &[
        "svg",
        "g",
        "title",
        "polygon",
        "path",
        "ellipse",
        "text",
        "a",
        "polyline",
        "defs",
        "lineargradient",
        "radialgradient",
        "stop",
        "image",
        "desc",
        "rect",
        "circle",
        "line",
    ];
    let b = svg.as_bytes();
    let mut i = 0;
    while let Some(off) = svg[i..].find('<') {
        let start = i + off;
        if svg[start..].starts_with("<!--") {
            match svg[start..].find("-->") {
                Some(e) => i = start + e + 3,
                None => return false,
            }
            continue;
        }
        // The tag runs to the first '>' outside quotes.
        let mut j = start + 1;
        let mut quote = None;
        while j < b.len() {
            match (quote, b[j]) {
                (None, b'"' | b'\'') => quote = Some(b[j]),
                (Some(q), c) if c == q => quote = None,
                (None, b'>') => break,
                _ => {}
            }
            j += 1;
        }
        if j >= b.len() {
            return false;
        }
        let tag = &svg[start + 1..j];
        i = j + 1;
        if tag.starts_with('!') || tag.starts_with('?') {
            return false;
        }
        let tag = tag.trim_start_matches('/').trim_end_matches('/');
        let name_len = tag
            .find(|c: char| c.is_ascii_whitespace())
            .unwrap_or(tag.len());
        let name = tag[..name_len].to_ascii_lowercase();
        if !ALLOWED.contains(&name.as_str()) {
            return false;
        }
        if !attrs_are_safe(&tag[name_len..]) {
            return false;
        }
    }
    true
}

/// `name="value"` pairs: no `on*` handlers, no script URLs.
fn attrs_are_safe(mut rest: &str) -> bool {
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            return true;
        }
        let Some(eq) = rest.find('=') else {
            return false;
        };
        let name = rest[..eq].trim().to_ascii_lowercase();
        if name.starts_with("on") || name.contains(|c: char| c.is_ascii_whitespace()) {
            return false;
        }
        let after = rest[eq + 1..].trim_start();
        let Some(q) = after.chars().next().filter(|c| *c == '"' || *c == '\'') else {
            return false;
        };
        let Some(close) = after[1..].find(q) else {
            return false;
        };
        let value = after[1..1 + close].to_ascii_lowercase();
        let compact: String = value.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        if name.ends_with("href") && !(compact.starts_with('#') || compact.is_empty()) {
            return false;
        }
        if compact.contains("javascript:") || compact.contains("&#") && name.ends_with("href") {
            return false;
        }
        rest = &after[close + 2..];
    }
}

/// Frames narrower than this fraction of the total are left out of the
/// flame graph page unless `flame_all=1`: on the largest bench profile
/// that is 37k of 395k nodes and 0.9 of 9 MB of JSON, while zooming into a
/// frame of 1% of the total still resolves a tenth of a percent of it.
const FLAME_MIN_FRACTION: f64 = 1e-5;

/// The flame graph view: the report's profile as `report::flame` JSON,
/// inlined for flame.js to draw on a canvas.
fn flame_body(rpt: &mut Report, ctx: &mut PageCtx) -> Result<String, DriverError> {
    ctx.legend = rpt.profile_labels();
    let graph = report::flame::FlameGraph::from_report(rpt);
    let all = ctx.params.get("flame_all") == Some("1");
    let (graph, pruned_note) = if all {
        (graph, String::new())
    } else {
        let pruned = graph.prune(FLAME_MIN_FRACTION);
        let note = if pruned.nodes.len() < graph.nodes.len() {
            format!(
                "<span id=\"flame-pruned\" class=\"status\">{} of {} frames: those under 0.001% of the total are left out. <a href=\"{}\">Show all</a></span>",
                pruned.nodes.len(),
                graph.nodes.len(),
                ctx.params.with("flame_all", "1").href("flamegraph")
            )
        } else {
            String::new()
        };
        (pruned, note)
    };
    let mut json = Vec::new();
    report::flame::write_json(&graph, &mut json)?;
    Ok(format!(
        "<div class=\"flame-controls\"><input id=\"flame-search\" type=\"search\" \
         placeholder=\"Search regexp\" autocomplete=\"off\" spellcheck=\"false\">\
         <span id=\"flame-matched\"></span><button id=\"flame-reset\" type=\"button\">Reset zoom</button>\
         <span id=\"flame-status\" class=\"status\"></span>{pruned_note}</div>\
         <div id=\"flame-box\" class=\"flame-box\"><canvas id=\"flame\"></canvas>\
         <div id=\"flame-tip\" class=\"tip\" hidden></div></div>\
         <script type=\"application/json\" id=\"flame-data\">{}</script>",
        crate::html::json_for_script(&json)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn svg_with_handlers_is_refused() {
        let bad = [
            "<svg><g onclick=\"x\"></g></svg>",
            "<svg><script>x</script></svg>",
            "<svg><foreignObject></foreignObject></svg>",
            "<svg><a xlink:href=\"javascript:alert(1)\"></a></svg>",
            "<svg><a href=\"https://example.com/\"></a></svg>",
            "<svg><g",
        ];
        for b in bad {
            assert!(sanitize_svg(b).contains("not shown"), "{b}");
        }
        let ok = "<svg width=\"8pt\"><!-- <script> --><g id=\"a\"><a xlink:title=\"x onerror=1 &lt;\">\
                  <text>main.onion &lt;script&gt; onerror=1</text></a></g></svg>";
        assert_eq!(sanitize_svg(ok), ok);
    }
}
