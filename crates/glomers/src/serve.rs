//! `glomers serve`: the store over HTTP, for a browser on the same machine (upstream's
//! `maelstrom serve`, jepsen-io/jepsen `jepsen/src/jepsen/web.clj`, which lists the runs of
//! a store and serves their files). It listens on 127.0.0.1 only: a store holds node logs
//! and whatever the nodes printed, which is nobody else's business.
//!
//! `/` lists every run, newest first, with its workload, verdict, key figures and date, each
//! linking to its report; every other path is a file of the store (a directory gives its
//! `index.html`). Routing ([`route`]) is a function of the store and the path, so it is
//! tested without a socket; [`Server`] is the loop that puts it on one.

use crate::store::files;
use serde_json::Value;
use std::path::{Component, Path, PathBuf};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Another program holds the port.
    #[error("port {0} on 127.0.0.1 is already in use (another `glomers serve`?); pick another with --port")]
    PortTaken(u16),
    /// Anything else the socket refused.
    #[error("cannot listen on 127.0.0.1:{0}: {1}")]
    Listen(u16, String),
    /// The store is not a directory.
    #[error("{0}: not a store directory ({1})")]
    NoStore(PathBuf, std::io::Error),
}

/// One run of the store, as the list shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSummary {
    /// Its directory relative to the store: `<workload>/<timestamp>`.
    pub path: String,
    /// The workload.
    pub workload: String,
    /// `valid`, `invalid`, `unknown`, `crashed`, or `running` (no results yet).
    pub verdict: &'static str,
    /// Operations completed ok, availability and messages per operation, when known.
    pub figures: String,
    /// When it started, from its directory's name.
    pub date: String,
    /// The file the list links to: its report, or (for a run stored before reports)
    /// its results.
    pub link: String,
}

/// Every run under `store`, newest first (directory names are sortable timestamps).
pub fn list_runs(store: &Path) -> Vec<RunSummary> {
    let mut runs = Vec::new();
    for workload in dirs(store) {
        for run in dirs(&store.join(&workload)) {
            let dir = store.join(&workload).join(&run);
            if !dir.join(files::TEST).is_file() {
                continue;
            }
            let results: Option<Value> = std::fs::read_to_string(dir.join(files::RESULTS))
                .ok()
                .and_then(|text| serde_json::from_str(&text).ok());
            let verdict = match &results {
                Some(r) => crate::checker::Validity::of(&r["valid?"]).name(),
                None if dir.join(files::ERROR).is_file() => "crashed",
                None => "running",
            };
            let figures = results.as_ref().map(figures).unwrap_or_default();
            let page = [files::REPORT, files::RESULTS, files::ERROR]
                .into_iter()
                .find(|name| dir.join(name).is_file())
                .unwrap_or(files::TEST);
            runs.push(RunSummary {
                link: format!("{workload}/{run}/{page}"),
                path: format!("{workload}/{run}"),
                workload: workload.clone(),
                verdict,
                figures,
                date: date(&run),
            });
        }
    }
    runs.sort_by(|a, b| {
        let stamp = |r: &RunSummary| r.path.split('/').nth(1).unwrap_or_default().to_owned();
        stamp(b).cmp(&stamp(a))
    });
    runs
}

/// The real directories (not the `latest` and `current` links) in `dir`, sorted.
fn dirs(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn figures(results: &Value) -> String {
    let mut parts = Vec::new();
    if let Some(ok) = results["stats"]["ok-count"].as_u64() {
        parts.push(format!("{ok} ok"));
    }
    if let Some(a) = results["availability"]["ok-fraction"].as_f64() {
        parts.push(format!("availability {a:.4}"));
    }
    if let Some(m) = results["net"]["all"]["msgs-per-op"].as_f64() {
        parts.push(format!("{m:.2} msgs/op"));
    }
    if let Some(p) = results["perf"]["latency-ms"]["0.99"].as_f64() {
        parts.push(format!("p99 {p:.0} ms"));
    }
    parts.join(", ")
}

/// `20240131T142301.123+0000` as `2024-01-31 14:23:01 UTC`; other names as they are.
fn date(stamp: &str) -> String {
    let b = stamp.as_bytes();
    if b.len() >= 15 && b[8] == b'T' && b[..8].iter().chain(&b[9..15]).all(u8::is_ascii_digit) {
        format!(
            "{}-{}-{} {}:{}:{} UTC",
            &stamp[0..4],
            &stamp[4..6],
            &stamp[6..8],
            &stamp[9..11],
            &stamp[11..13],
            &stamp[13..15]
        )
    } else {
        stamp.to_owned()
    }
}

/// The list page.
pub fn index_html(store: &Path, runs: &[RunSummary]) -> String {
    use crate::plot::escape;
    let mut rows = String::new();
    for run in runs {
        rows.push_str(&format!(
            r#"<tr class="{v}"><td>{date}</td><td>{w}</td><td class="verdict">{v}</td><td>{f}</td><td><a href="/{t}">{p}</a></td></tr>"#,
            date = escape(&run.date),
            w = escape(&run.workload),
            v = run.verdict,
            f = escape(&run.figures),
            t = escape(&run.link),
            p = escape(&run.path),
        ));
    }
    format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>glomers store</title>
<style>
body {{ font: 14px system-ui, sans-serif; margin: 16px 24px; color: #222; }}
table {{ border-collapse: collapse; }} th, td {{ text-align: left; padding: 3px 14px 3px 0; }}
tr.invalid .verdict, tr.crashed .verdict {{ color: #c22; font-weight: bold; }}
tr.valid .verdict {{ color: #282; }} tr.unknown .verdict {{ color: #c80; }}
</style></head><body>
<h1>Runs in {store}</h1><p id="count">{n} runs, newest first.</p>
<table><tr><th>date</th><th>workload</th><th>verdict</th><th>figures</th><th>run</th></tr>
{rows}</table></body></html>
"#,
        store = escape(&store.display().to_string()),
        n = runs.len()
    )
}

/// What a request gets.
#[derive(Debug, PartialEq)]
pub enum Reply {
    /// A page made for the request.
    Page(String),
    /// A file of the store, and its content type.
    File(PathBuf, &'static str),
    /// Nothing there (or outside the store).
    NotFound,
}

/// The reply to a GET of `url` (path and query) on `store`.
pub fn route(store: &Path, url: &str) -> Reply {
    let path = url.split(['?', '#']).next().unwrap_or_default();
    let Some(path) = percent_decode(path) else {
        return Reply::NotFound;
    };
    let relative = Path::new(path.trim_start_matches('/'));
    if relative.as_os_str().is_empty() {
        return Reply::Page(index_html(store, &list_runs(store)));
    }
    // Only plain names: no `..`, no root, nothing that could leave the store.
    if !relative
        .components()
        .all(|c| matches!(c, Component::Normal(_)))
    {
        return Reply::NotFound;
    }
    let mut file = store.join(relative);
    if file.is_dir() {
        file = file.join(files::REPORT);
    }
    // Links inside the store (`latest`) resolve to runs inside it; nothing may resolve out.
    let (Ok(file), Ok(root)) = (file.canonicalize(), store.canonicalize()) else {
        return Reply::NotFound;
    };
    if !file.starts_with(&root) || !file.is_file() {
        return Reply::NotFound;
    }
    let kind = content_type(&file);
    Reply::File(file, kind)
}

fn content_type(file: &Path) -> &'static str {
    match file.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("json") => "application/json",
        Some("png") => "image/png",
        _ => "text/plain; charset=utf-8",
    }
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The HTTP server: `tiny_http`, one thread, blocking. One person's browser on loopback is
/// the whole load, so neither an async runtime nor a thread pool would buy anything.
pub struct Server {
    http: tiny_http::Server,
    store: PathBuf,
    port: u16,
}

impl Server {
    /// Listens on 127.0.0.1:`port` (0: any free port) over `store`.
    pub fn bind(store: &Path, port: u16) -> Result<Server, ServeError> {
        std::fs::read_dir(store).map_err(|e| ServeError::NoStore(store.to_owned(), e))?;
        let http = tiny_http::Server::http(("127.0.0.1", port)).map_err(|e| {
            match e.downcast_ref::<std::io::Error>().map(std::io::Error::kind) {
                Some(std::io::ErrorKind::AddrInUse) => ServeError::PortTaken(port),
                _ => ServeError::Listen(port, e.to_string()),
            }
        })?;
        let port = http.server_addr().to_ip().map_or(port, |addr| addr.port());
        Ok(Server {
            http,
            store: store.to_owned(),
            port,
        })
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Answers requests until the process ends.
    pub fn run(&self) {
        for request in self.http.incoming_requests() {
            let reply = match request.method() {
                tiny_http::Method::Get | tiny_http::Method::Head => {
                    route(&self.store, request.url())
                }
                _ => Reply::NotFound,
            };
            // A browser that goes away mid-reply is no error of ours.
            let _ = match reply {
                Reply::Page(html) => request.respond(with_type(
                    tiny_http::Response::from_string(html),
                    "text/html; charset=utf-8",
                )),
                Reply::File(path, kind) => match std::fs::File::open(&path) {
                    Ok(file) => {
                        request.respond(with_type(tiny_http::Response::from_file(file), kind))
                    }
                    Err(_) => request.respond(not_found()),
                },
                Reply::NotFound => request.respond(not_found()),
            };
        }
    }
}

fn with_type<R: std::io::Read>(
    mut response: tiny_http::Response<R>,
    kind: &str,
) -> tiny_http::Response<R> {
    if let Ok(header) = tiny_http::Header::from_bytes("Content-Type", kind) {
        response.add_header(header);
    }
    response
}

fn not_found() -> tiny_http::Response<std::io::Cursor<Vec<u8>>> {
    tiny_http::Response::from_string("not found\n").with_status_code(404)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    /// A store with two runs of different workloads, one valid with a report, one crashed.
    fn store(name: &str) -> PathBuf {
        let store = std::env::temp_dir().join(format!("glomers-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&store);
        let old = store.join("echo/20240131T142301.123+0000");
        let new = store.join("broadcast/20250101T000000.000+0000");
        for dir in [&old, &new] {
            std::fs::create_dir_all(dir).unwrap();
            std::fs::write(dir.join(files::TEST), "{}").unwrap();
        }
        std::fs::write(
            old.join(files::RESULTS),
            r#"{"valid?": true, "stats": {"ok-count": 12}, "net": {"all": {"msgs-per-op": 2.0}}}"#,
        )
        .unwrap();
        std::fs::write(old.join(files::REPORT), "<p>the report</p>").unwrap();
        std::fs::write(new.join(files::ERROR), "node n0 exited").unwrap();
        std::os::unix::fs::symlink(&old, store.join("latest")).unwrap();
        std::fs::write(std::env::temp_dir().join("glomers-serve-secret"), "no").unwrap();
        store
    }

    #[test]
    fn runs_are_listed_newest_first_and_paths_stay_inside_the_store() {
        let store = store("route");
        let runs = list_runs(&store);
        assert_eq!(runs.len(), 2, "links are not runs of their own");
        assert_eq!(runs[0].path, "broadcast/20250101T000000.000+0000");
        assert_eq!(
            (runs[0].verdict, runs[0].link.as_str()),
            ("crashed", "broadcast/20250101T000000.000+0000/error.txt")
        );
        assert_eq!(runs[1].verdict, "valid");
        assert_eq!(runs[1].figures, "12 ok, 2.00 msgs/op");
        assert_eq!(runs[1].date, "2024-01-31 14:23:01 UTC");
        assert!(matches!(route(&store, "/"), Reply::Page(p) if p.contains("2 runs")));
        let report = store
            .join("echo/20240131T142301.123+0000")
            .join(files::REPORT);
        let expect = Reply::File(report.canonicalize().unwrap(), "text/html; charset=utf-8");
        assert_eq!(route(&store, "/echo/20240131T142301.123+0000/"), expect);
        assert_eq!(route(&store, "/latest?x=1"), expect);
        assert_eq!(
            route(&store, "/echo/20240131T142301.123%2B0000/index.html"),
            expect
        );
        for outside in [
            "/../glomers-serve-secret",
            "/%2e%2e/glomers-serve-secret",
            "/nothing",
            "/%zz",
        ] {
            assert_eq!(route(&store, outside), Reply::NotFound, "{outside}");
        }
    }

    fn get(port: u16, path: &str) -> String {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut reply = String::new();
        stream.read_to_string(&mut reply).unwrap();
        reply
    }

    #[test]
    fn the_server_answers_over_http_on_loopback_and_a_taken_port_is_named() {
        let store = store("serve");
        let server = Server::bind(&store, 0).unwrap();
        let port = server.port();
        std::thread::spawn(move || server.run());
        let list = get(port, "/");
        assert!(list.starts_with("HTTP/1.1 200"), "{list}");
        assert!(list.contains("Content-Type: text/html"));
        assert!(list.contains(r#"href="/echo/20240131T142301.123+0000/index.html""#));
        let report = get(port, "/echo/20240131T142301.123+0000/index.html");
        assert!(report.ends_with("<p>the report</p>"), "{report}");
        assert!(get(port, "/../../etc/passwd").starts_with("HTTP/1.1 404"));
        let taken = Server::bind(&store, port).err().unwrap();
        assert!(
            matches!(taken, ServeError::PortTaken(p) if p == port),
            "{taken}"
        );
        assert!(taken.to_string().contains("already in use"));
        assert!(matches!(
            Server::bind(&store.join("missing"), 0),
            Err(ServeError::NoStore(..))
        ));
    }
}
