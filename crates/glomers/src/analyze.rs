//! `glomers analyze`: re-run the checkers on a stored run, without starting any node.

use crate::checker::{self, Validity};
use crate::history::read_history;
use crate::options::TestOptions;
use crate::store::{self, files};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Why a stored run could not be analysed.
#[derive(Debug, thiserror::Error)]
pub enum AnalyzeError {
    /// A file is missing or unreadable.
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
    /// `test.json` does not parse.
    #[error("{0}: {1}")]
    BadTest(PathBuf, serde_json::Error),
    /// The stored workload is unknown to this version.
    #[error("workload {0} is not implemented")]
    UnknownWorkload(String),
    /// The run crashed before it reached a verdict; its `error.txt` says why.
    #[error("this run crashed before it reached a verdict, so there is nothing to re-check as a whole:\n{0}\n(the history and journal it recorded until then are in the run directory)")]
    Crashed(String),
}

/// Re-runs the checkers on `dir` and rewrites its `results.json`.
pub fn analyze_dir(dir: &Path) -> Result<(Value, Validity), AnalyzeError> {
    if let Ok(error) = std::fs::read_to_string(dir.join(files::ERROR)) {
        return Err(AnalyzeError::Crashed(error.trim_end().to_owned()));
    }
    let test_path = dir.join(files::TEST);
    let text =
        std::fs::read_to_string(&test_path).map_err(|e| AnalyzeError::Io(test_path.clone(), e))?;
    let options: TestOptions =
        serde_json::from_str(&text).map_err(|e| AnalyzeError::BadTest(test_path, e))?;
    let workload = crate::workload::by_name(&options.workload)
        .ok_or_else(|| AnalyzeError::UnknownWorkload(options.workload.clone()))?;
    let history_path = dir.join(files::HISTORY);
    let history = read_history(&history_path).map_err(|e| AnalyzeError::Io(history_path, e))?;
    let tally =
        store::tally_journal(dir).map_err(|e| AnalyzeError::Io(dir.join(files::MESSAGES), e))?;
    let mut results = checker::analyze(workload.as_ref(), &options, &history, &tally);
    // Halts and delivery lateness were observed during the run; keep what it recorded.
    let previous: Option<Value> = std::fs::read_to_string(dir.join(files::RESULTS))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok());
    results["glomers"] = previous
        .and_then(|p| p.get("glomers").cloned())
        .unwrap_or_else(|| serde_json::json!({"seed": options.seed, "halted-nodes": []}));
    store::write_json(&dir.join(files::RESULTS), &results)
        .map_err(|e| AnalyzeError::Io(dir.join(files::RESULTS), e))?;
    let reproduce = results["glomers"]["replay"]
        .as_str()
        .map_or_else(|| options.command_line(), str::to_owned);
    let record = store::RunRecord {
        options: &options,
        history: &history,
        outcome: Ok(&results),
        reproduce,
    };
    store::write_pages(dir, &record).map_err(|e| AnalyzeError::Io(dir.join(files::REPORT), e))?;
    let validity = Validity::of(&results["valid?"]);
    Ok((results, validity))
}
