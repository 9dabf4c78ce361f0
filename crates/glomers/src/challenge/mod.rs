//! `glomers challenge`: build the solutions, run each challenge's official command on the
//! workbench, and print a scoreboard against the challenges' published limits and our own
//! targets.
//!
//! | part | file |
//! |---|---|
//! | the rows: command, solution, targets | `table.rs` |
//! | a run's verdict against its row | `evaluation.rs` |
//! | building and running rows, process or simulation | `runner.rs` |
//! | the printed scoreboard | `scoreboard.rs` |

mod evaluation;
mod runner;
mod scoreboard;
mod table;

pub use evaluation::{incomplete_checks, Limit, RowResult, RunVerdict, Target};
pub use runner::{
    assert_rows_pass_in_simulation, build, options_for, run_options, run_row, run_row_sim,
    simulate_rows, workspace_root,
};
pub use scoreboard::scoreboard;
pub use table::{select, Challenge, CHALLENGES};

/// Why the suite could not run.
#[derive(Debug, thiserror::Error)]
pub enum ChallengeError {
    /// An id that is not in the table.
    #[error("unknown challenge {0:?}; known: {1}")]
    Unknown(String, String),
    /// cargo failed.
    #[error("building the solutions failed: {0}")]
    Build(String),
    /// The command line of a row did not parse (a bug in the table).
    #[error("challenge {0}: {1}")]
    BadRow(&'static str, String),
    /// The workbench could not run a row.
    #[error("challenge {0}: {1}")]
    Run(&'static str, crate::run_errors::RunError),
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn every_row_parses_and_only_the_two_6b_runs_share_an_id() {
        let mut ids: Vec<&str> = CHALLENGES.iter().map(|c| c.id).collect();
        ids.dedup();
        let distinct: std::collections::BTreeSet<&str> = ids.iter().copied().collect();
        assert_eq!(distinct.len(), ids.len(), "rows sharing an id are adjacent");
        assert_eq!(ids.len(), CHALLENGES.len() - 1);
        for c in CHALLENGES {
            assert!(crate::workload::by_name(c.workload).is_some(), "{}", c.id);
            assert!(!c.flags.is_empty() && !c.title.is_empty(), "{}", c.id);
            assert!(options_for(c, Path::new("/tmp"), 1).is_ok(), "{}", c.id);
        }
        assert_eq!(select(&["3c".into()]).unwrap()[0].id, "3c");
        let runs = select(&["6b".into()]).unwrap();
        assert_eq!(runs.len(), 2);
        assert!(!options_for(&runs[0], Path::new("/tmp"), 1)
            .unwrap()
            .partitions());
        assert!(options_for(&runs[1], Path::new("/tmp"), 1)
            .unwrap()
            .partitions());
        assert!(select(&["9z".into()]).is_err());
    }

    #[test]
    fn the_printed_6c_command_partitions_nothing() {
        let row = select(&["6c".into()]).unwrap()[0];
        let options = options_for(&row, Path::new("/tmp"), 1).unwrap();
        assert!(!options.partitions());
        assert_eq!(options.args, ["\u{2013}-nemesis", "partition"]);
        assert_eq!(options.consistency_models, ["read-committed"]);
        let strict = select(&["6c-partition".into()]).unwrap()[0];
        assert!(options_for(&strict, Path::new("/tmp"), 1)
            .unwrap()
            .partitions());
    }
}
