//! The summary printed after a run or an analysis: the verdict, the key figures and where
//! the run is stored.

use crate::checker::Validity;
use crate::run::RunReport;
use serde_json::Value;
use std::fmt::Write;

/// Upstream's closing line for each verdict (tools scrape for it).
pub fn closing_line(validity: Validity) -> &'static str {
    match validity {
        Validity::Valid => "Everything looks good! ヽ(‘ー`)ノ",
        Validity::Invalid => "Analysis invalid! (ﾉಥ益ಥ）ﾉ ┻━┻",
        Validity::Unknown => "Errors occurred during analysis, but no anomalies found. ಠ~ಠ",
    }
}

/// The summary of a finished (or crashed) run.
pub fn summary(report: &RunReport) -> String {
    let mut out = String::new();
    match &report.outcome {
        Ok(results) => out.push_str(&results_summary(results)),
        Err(error) => {
            let _ = writeln!(out, "The run crashed (exit 255): {error}");
        }
    }
    for node in report
        .outcome
        .as_ref()
        .ok()
        .and_then(|r| r["glomers"]["closed-stdout"].as_array())
        .into_iter()
        .flatten()
    {
        let _ = writeln!(
            out,
            "  WARNING      node {} closed its stdout {} s into the run but kept running: \
             nothing it wrote after that reached the network",
            node["node"].as_str().unwrap_or("?"),
            fmt_num(&node["at"], 3)
        );
    }
    for error in &report.store_errors {
        let _ = writeln!(out, "  STORE ERROR  {error}");
    }
    for halt in &report.halts {
        let _ = writeln!(
            out,
            "  WARNING      node {} was silenced after sending to an unknown endpoint ({}): {}",
            halt.node, halt.reason, halt.line
        );
    }
    let _ = writeln!(
        out,
        "  run          {}  (seed {})",
        report.dir.display(),
        report.options.seed
    );
    out
}

/// The verdict and key figures of a results map.
pub fn results_summary(results: &Value) -> String {
    let mut out = String::new();
    let validity = Validity::of(&results["valid?"]);
    let verdict = validity.name().to_uppercase();
    let _ = writeln!(out, "{}", closing_line(validity));
    let _ = writeln!(out, "  verdict      {verdict}{}", failing_checkers(results));
    if let Some(warning) = crate::health::warning(results) {
        let _ = writeln!(out, "  {warning}");
    }
    let stats = &results["stats"];
    let _ = writeln!(
        out,
        "  operations   {} ok, {} fail, {} info; availability {}",
        stats["ok-count"],
        stats["fail-count"],
        stats["info-count"],
        fmt_num(&results["availability"]["ok-fraction"], 4)
    );
    let lat = &results["perf"]["latency-ms"];
    if !lat["0.5"].is_null() {
        let _ = writeln!(
            out,
            "  latency      p50 {} ms, p95 {} ms, p99 {} ms, max {} ms (ok operations)",
            fmt_num(&lat["0.5"], 1),
            fmt_num(&lat["0.95"], 1),
            fmt_num(&lat["0.99"], 1),
            fmt_num(&lat["1"], 1)
        );
    }
    let net = &results["net"];
    let _ = writeln!(
        out,
        "  messages     {} in all, {} between servers; msgs-per-op {} (all), {} (servers)",
        net["all"]["msg-count"],
        net["servers"]["msg-count"],
        fmt_num(&net["all"]["msgs-per-op"], 3),
        fmt_num(&net["servers"]["msgs-per-op"], 3)
    );
    let _ = writeln!(
        out,
        "  workload     {}",
        workload_line(&results["workload"])
    );
    let lateness = &results["glomers"]["delivery-lateness-ms"];
    if lateness["deliveries"].as_u64().is_some_and(|n| n > 0) {
        let _ = writeln!(
            out,
            "  network      {} deliveries, late by p50 {} ms, p99 {} ms, max {} ms",
            lateness["deliveries"],
            fmt_num(&lateness["p50"], 3),
            fmt_num(&lateness["p99"], 3),
            fmt_num(&lateness["max"], 3)
        );
    }
    out
}

fn failing_checkers(results: &Value) -> String {
    let Some(map) = results.as_object() else {
        return String::new();
    };
    let failing: Vec<&str> = map
        .iter()
        .filter(|(k, v)| {
            k.as_str() != "valid?"
                && v.get("valid?")
                    .is_some_and(|v| Validity::of(v) != Validity::Valid)
        })
        .map(|(k, _)| k.as_str())
        .collect();
    if failing.is_empty() {
        String::new()
    } else {
        format!(" (failing: {})", failing.join(", "))
    }
}

/// The workload result's scalar fields, plus the first error if there is one.
fn workload_line(result: &Value) -> String {
    let Some(map) = result.as_object() else {
        return result.to_string();
    };
    let mut parts: Vec<String> = map
        .iter()
        .filter(|(_, v)| v.is_number() || v.is_boolean() || v.is_string())
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    if let Some(range) = map.get("range") {
        parts.push(format!("range {range}"));
    }
    let errors = map
        .get("errors")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    if errors > 0 {
        parts.push(format!(
            "{errors} errors, first: {}",
            crate::process::shorten(&map["errors"][0].to_string())
        ));
    }
    parts.join(", ")
}

fn fmt_num(value: &Value, digits: usize) -> String {
    value
        .as_f64()
        .map_or_else(|| "-".to_owned(), |x| format!("{x:.digits$}"))
}
