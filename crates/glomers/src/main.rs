//! The `glomers` command: a thin shell over the library. Exit codes follow Maelstrom: 0
//! valid, 1 invalid, 2 unknown, 254 bad arguments, 255 a crashed run.

use clap::{Parser, Subcommand};
use glomers::challenge;
use glomers::options::TestArgs;
use glomers::progress::Progress;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "glomers",
    version,
    about = "A native, Maelstrom-compatible test workbench"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a test, with Maelstrom's flags.
    Test(Box<TestArgs>),
    /// Re-run the checkers on a stored run (default: the latest), or on a directory that
    /// Maelstrom stored (history.edn, results.edn, jepsen.log), verdict beside verdict.
    Analyze {
        /// The run directory.
        run_dir: Option<PathBuf>,
        /// Where runs are stored.
        #[arg(long, default_value = "store")]
        store: PathBuf,
    },
    /// Build the solutions and run the challenge suite (`all`, or ids such as 1 2 3a).
    Challenge {
        /// Challenge ids, or `all`.
        ids: Vec<String>,
        /// Run each row on seeds 1..=K and report how many passed.
        #[arg(long, default_value_t = 1)]
        seeds: u64,
        /// Run each row on this one seed instead (a failing seed's replay line).
        #[arg(long, conflicts_with = "seeds")]
        seed: Option<u64>,
        /// Run the solutions in-process on virtual time (deterministic simulation) instead
        /// of as processes on the real clock.
        #[arg(long)]
        sim: bool,
        /// Where runs are stored.
        #[arg(long, default_value = "store")]
        store: PathBuf,
    },
    /// Serve the store to a browser on this machine: every run, newest first, each with its
    /// report (`maelstrom serve`).
    Serve {
        /// The port on 127.0.0.1.
        #[arg(long, short = 'p', default_value_t = 8080)]
        port: u16,
        /// Where runs are stored.
        #[arg(long, default_value = "store")]
        store: PathBuf,
    },
    /// Run the 3d broadcast command across values of a node tuning variable and write a
    /// markdown page with a table and an SVG chart.
    Sweep {
        /// The node's environment variable to vary.
        #[arg(long, default_value = "BROADCAST_FLUSH_MS")]
        var: String,
        /// Comma-separated values.
        #[arg(long, default_value = "25,50,100,150,200,300,500")]
        values: String,
        /// The value the node uses by default (marked in the chart).
        #[arg(long, default_value_t = 150)]
        default: u64,
        /// The seed of every run.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The markdown page to write; the chart goes next to it as `<name>-sweep.svg`.
        #[arg(long, default_value = "docs/broadcast.md")]
        out: PathBuf,
        /// Where runs are stored.
        #[arg(long, default_value = "store")]
        store: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    ExitCode::SUCCESS
                }
                _ => ExitCode::from(254),
            };
        }
    };
    // Ctrl-C, SIGTERM and SIGHUP: the first one stops every node and lets the run in
    // progress store what it recorded (it then ends as a crashed run, exit 255); a second
    // one, or one outside a run, exits at once.
    let _ = ctrlc::set_handler(|| {
        let in_run = glomers::interrupt::interrupt_current(glomers::process::kill_all_groups);
        if in_run {
            eprintln!("\ninterrupted: every node process has been killed; storing the run (signal again to quit at once)");
        } else {
            eprintln!("\ninterrupted: every node process has been killed");
            std::process::exit(130);
        }
    });
    let code = match cli.command {
        Command::Test(args) => test(&args),
        Command::Analyze { run_dir, store } => {
            analyze(run_dir.unwrap_or_else(|| store.join("latest")))
        }
        Command::Challenge {
            ids,
            seeds,
            seed,
            sim,
            store,
        } => {
            let seeds: Vec<u64> = match seed {
                Some(seed) => vec![seed],
                None => (1..=seeds.max(1)).collect(),
            };
            challenges(&ids, &seeds, sim, &store)
        }
        Command::Serve { port, store } => serve(&store, port),
        Command::Sweep {
            var,
            values,
            default,
            seed,
            out,
            store,
        } => sweep(&var, &values, default, seed, &out, &store),
    };
    ExitCode::from(code)
}

fn test(args: &TestArgs) -> u8 {
    let options = match args.resolve() {
        Ok(options) => options,
        Err(e) => {
            eprintln!("{e}");
            return 254;
        }
    };
    let Some(workload) = glomers::workload::by_name(&options.workload) else {
        eprintln!(
            "the {} workload is not implemented in glomers yet",
            options.workload
        );
        return 254;
    };
    let workload: Arc<dyn glomers::workload::Workload> = Arc::from(workload);
    let mut last = 0;
    for i in 0..args.test_count.max(1) {
        let mut options = options.clone();
        options.seed = options.seed.wrapping_add(i);
        match glomers::run::run_test(&options, workload.clone(), &args.store, Progress::detect()) {
            Ok(report) => {
                println!("{}", glomers::report::summary(&report));
                last = report.exit_code();
                if last != 0 {
                    break;
                }
            }
            Err(e) => {
                eprintln!("glomers: {e}");
                return 255;
            }
        }
    }
    last as u8
}

fn analyze(dir: PathBuf) -> u8 {
    if glomers::maelstrom_store::is_maelstrom_store(&dir) {
        return match glomers::maelstrom_store::analyze(&dir) {
            Ok(comparison) => {
                print!("{}", glomers::report::results_summary(&comparison.results));
                print!("{}", comparison.text());
                println!("  run          {}", dir.display());
                comparison.validity().exit_code() as u8
            }
            Err(e) => {
                eprintln!("glomers analyze: {e}");
                255
            }
        };
    }
    match glomers::analyze::analyze_dir(&dir) {
        Ok((results, validity)) => {
            print!("{}", glomers::report::results_summary(&results));
            println!("  run          {}", dir.display());
            validity.exit_code() as u8
        }
        Err(e) => {
            eprintln!("glomers analyze: {e}");
            255
        }
    }
}

fn serve(store: &std::path::Path, port: u16) -> u8 {
    match glomers::serve::Server::bind(store, port) {
        Ok(server) => {
            println!(
                "Serving {} at http://127.0.0.1:{}/ (Ctrl-C stops)",
                store.display(),
                server.port()
            );
            server.run();
            0
        }
        Err(e) => {
            eprintln!("glomers serve: {e}");
            255
        }
    }
}

fn challenges(ids: &[String], seeds: &[u64], sim: bool, store: &std::path::Path) -> u8 {
    let rows = match challenge::select(ids) {
        Ok(rows) => rows,
        Err(e) => {
            eprintln!("{e}");
            return 254;
        }
    };
    let bin_dir = if sim {
        None
    } else {
        match challenge::build(&rows) {
            Ok(dir) => Some(dir),
            Err(e) => {
                eprintln!("{e}");
                return 255;
            }
        }
    };
    let started = std::time::Instant::now();
    let mut results = Vec::new();
    for row in rows {
        let result = match &bin_dir {
            Some(bin_dir) => challenge::run_row(row, bin_dir, seeds, store, Progress::detect()),
            None => challenge::run_row_sim(row, seeds, store),
        };
        match result {
            Ok(result) => results.push(result),
            Err(e) => {
                eprintln!("{e}");
                return 255;
            }
        }
    }
    print!("{}", challenge::scoreboard(&results));
    if sim {
        println!(
            "simulated {} row(s) x {} seed(s) in {:.1} s",
            results.len(),
            seeds.len(),
            started.elapsed().as_secs_f64()
        );
    }
    // 1 when a solution failed; 2 when nothing failed but some run was spoiled by load and
    // needs a rerun.
    if results.iter().any(challenge::RowResult::failed) {
        1
    } else if results.iter().all(challenge::RowResult::passed) {
        0
    } else {
        2
    }
}

fn sweep(
    var: &str,
    values: &str,
    default: u64,
    seed: u64,
    out: &std::path::Path,
    store: &std::path::Path,
) -> u8 {
    let values: Result<Vec<u64>, _> = values.split(',').map(|v| v.trim().parse::<u64>()).collect();
    let Ok(values) = values else {
        eprintln!("--values must be comma-separated whole numbers");
        return 254;
    };
    let rows = challenge::select(&["3d".to_owned()]).unwrap_or_default();
    let bin_dir = match challenge::build(&rows) {
        Ok(dir) => dir,
        Err(e) => {
            eprintln!("{e}");
            return 255;
        }
    };
    let points = match glomers::sweep::run(&bin_dir, var, &values, seed, store, Progress::detect())
    {
        Ok(points) => points,
        Err(e) => {
            eprintln!("{e}");
            return 255;
        }
    };
    let stem = out.file_stem().and_then(|s| s.to_str()).unwrap_or("sweep");
    let svg_name = format!("{stem}-sweep.svg");
    let svg_path = out.with_file_name(&svg_name);
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let page = glomers::sweep::markdown(&points, var, default, seed, &svg_name, &command);
    let written = std::fs::write(out, &page)
        .and_then(|()| std::fs::write(&svg_path, glomers::sweep::svg(&points, default)));
    if let Err(e) = written {
        eprintln!("writing {}: {e}", out.display());
        return 255;
    }
    print!("{page}");
    println!("wrote {} and {}", out.display(), svg_path.display());
    0
}
