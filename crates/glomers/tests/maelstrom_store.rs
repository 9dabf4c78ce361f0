//! `glomers analyze` on directories as real Maelstrom writes them, built here from
//! hand-written EDN: the options come from the logged test map, the history from
//! `history.edn` (with `history.txt`'s values where they differ), and each checker's verdict
//! is set beside the stored one.

#![allow(clippy::unwrap_used)]

use glomers::checker::Validity;
use glomers::maelstrom_store::{analyze, is_maelstrom_store, Verdicts};
use std::path::{Path, PathBuf};

/// The head of a `jepsen.log`: the lines before the test map, the map as Jepsen pretty-prints
/// it (objects, records, lists and all), and the next log line.
fn jepsen_log(argv: &str, workload: &str, nodes: &str) -> String {
    format!(
        "2024-01-31 14:26:21,045{{GMT}}\tINFO\t[jepsen test runner] jepsen.core: Test version 0d6e\n\
         2024-01-31 14:26:21,123{{GMT}}\tINFO\t[jepsen test runner] jepsen.core: Running test:\n\
         {{:args []\n \
         :remote\n \
         #jepsen.control.retry.Remote{{:remote #jepsen.control.scp.Remote{{:cmd-remote nil}}, :conn nil}}\n \
         :log-net-send false\n \
         :availability nil\n \
         :max-txn-length 4\n \
         :db\n \
         #object[maelstrom.db$db$reify__16142\n         0x4c6bdb7f\n         \"maelstrom.db$db$reify__16142@4c6bdb7f\"]\n \
         :nemesis-interval 10\n \
         :argv\n \
         ({argv})\n \
         :nemesis (jepsen.nemesis.ReflCompose ...)\n \
         :nodes [{nodes}]\n \
         :rate 5\n \
         :latency {{:mean 0, :dist :constant}}\n \
         :time-limit 10\n \
         :workload :{workload}\n \
         :topology :grid}}\n\
         \n\
         2024-01-31 14:26:21,200{{GMT}}\tINFO\t[jepsen node n0] maelstrom.db: Setting up n0\n"
    )
}

/// The checkers' map as Maelstrom stores it, with the given workload result and verdict.
fn results_edn(workload: &str, valid: &str) -> String {
    format!(
        "{{:perf {{:latency-graph {{:valid? true}}, :rate-graph {{:valid? true}}, :valid? true}},\n \
         :timeline {{:valid? true}},\n \
         :exceptions {{:valid? true}},\n \
         :stats {{:valid? true, :count 1, :ok-count 1, :fail-count 0, :info-count 0}},\n \
         :availability {{:valid? true, :ok-fraction 1.0}},\n \
         :net {{:all {{:send-count 4, :recv-count 4, :msg-count 4, :msgs-per-op 4.0}}, :valid? true}},\n \
         :workload {workload},\n \
         :valid? {valid}}}\n"
    )
}

fn store(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "glomers-maelstrom-store-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for (file, text) in files {
        std::fs::write(dir.join(file), text).unwrap();
    }
    dir
}

fn row<'a>(verdicts: &'a [Verdicts], checker: &str) -> &'a Verdicts {
    verdicts.iter().find(|v| v.checker == checker).unwrap()
}

fn both(verdicts: &[Verdicts], checker: &str) -> (Option<Validity>, Option<Validity>) {
    let v = row(verdicts, checker);
    (v.maelstrom, v.glomers)
}

#[test]
fn an_echo_run_agrees_checker_by_checker() {
    let dir = store(
        "echo",
        &[
            (
                "jepsen.log",
                &jepsen_log(
                    r#""test" "-w" "echo" "--bin" "demo/ruby/echo.rb" "--node-count" "1" "--time-limit" "10""#,
                    "echo",
                    r#""n0""#,
                ),
            ),
            (
                "history.edn",
                "{:type :invoke, :f :echo, :value \"Please echo 35\", :time 12000, :process 0, :index 0}\n\
                 #jepsen.history.Op{:index 1, :time 530000, :type :ok, :process 0, :f :echo, :value {:echo \"Please echo 35\", :type \"echo_ok\", :in_reply_to 1}}\n",
            ),
            (
                "history.txt",
                "0\t:invoke\t:echo\t\"Please echo 35\"\n\
                 0\t:ok\t:echo\t{:echo \"Please echo 35\", :type \"echo_ok\", :in_reply_to 1}\n",
            ),
            ("results.edn", &results_edn("{:valid? true, :errors ()}", "true")),
        ],
    );
    assert!(is_maelstrom_store(&dir));
    let comparison = analyze(&dir).unwrap();
    assert_eq!(comparison.run.options.workload, "echo");
    assert_eq!(comparison.run.options.nodes, ["n0"]);
    assert_eq!(comparison.run.options.time_limit, 10);
    assert_eq!(comparison.run.history.len(), 2);
    assert!(
        comparison.run.notes.is_empty(),
        "{:?}",
        comparison.run.notes
    );
    for checker in [
        "workload",
        "perf",
        "stats",
        "exceptions",
        "availability",
        "overall",
    ] {
        assert_eq!(
            both(&comparison.verdicts, checker),
            (Some(Validity::Valid), Some(Validity::Valid)),
            "{checker}"
        );
    }
    // The journal is Fressian: net is Maelstrom's alone, and said to be.
    assert_eq!(
        both(&comparison.verdicts, "net"),
        (Some(Validity::Valid), None)
    );
    let text = comparison.text();
    assert!(
        text.contains("workload       valid      valid      agree"),
        "{text}"
    );
    assert!(
        text.contains("net            valid      not redone\n"),
        "{text}"
    );
    assert_eq!(comparison.validity(), Validity::Valid);
}

#[test]
fn a_lost_broadcast_value_is_invalid_on_both_sides() {
    let dir = store(
        "broadcast",
        &[
            (
                "jepsen.log",
                &jepsen_log(
                    r#""test" "-w" "broadcast" "--bin" "b.rb" "--node-count" "2" "--time-limit" "10" "--rate" "5""#,
                    "broadcast",
                    r#""n0" "n1""#,
                ),
            ),
            (
                "history.edn",
                "{:type :invoke, :f :broadcast, :value 7, :time 1000000, :process 0, :index 0}\n\
                 {:type :ok, :f :broadcast, :value 7, :time 2000000, :process 0, :index 1}\n\
                 {:type :invoke, :f :read, :value nil, :time 9000000000, :process 1, :index 2, :final? true}\n\
                 {:type :ok, :f :read, :value [], :time 9001000000, :process 1, :index 3, :final? true}\n",
            ),
            (
                "results.edn",
                &results_edn(
                    "{:valid? false, :lost-count 1, :lost #{7}, :attempt-count 1, :stable-count 0}",
                    "false",
                ),
            ),
        ],
    );
    let comparison = analyze(&dir).unwrap();
    assert_eq!(comparison.run.options.nodes, ["n0", "n1"]);
    assert_eq!(
        both(&comparison.verdicts, "workload"),
        (Some(Validity::Invalid), Some(Validity::Invalid))
    );
    assert_eq!(
        comparison.results["workload"]["lost"],
        serde_json::json!([7])
    );
    assert_eq!(comparison.validity(), Validity::Invalid);
    // No history.txt: the history is used as it is, and the note says what that risks.
    assert_eq!(
        comparison.run.notes,
        ["no history.txt: history.edn was used as it is"]
    );
}

/// Kafka's final assign and poll as Jepsen 0.3.0-0.3.5 printed them into history.edn (the
/// map's earlier :f and :value), with history.txt holding the real ones.
fn kafka_files(with_text: bool) -> Vec<(&'static str, String)> {
    let edn = "{:type :invoke, :f :send, :value [[:send \"9\" 1]], :time 1000000, :process 0, :index 0}\n\
               {:type :ok, :f :send, :value [[:send \"9\" [0 1]]], :time 2000000, :process 0, :index 1}\n\
               {:type :invoke, :f :poll, :value [[:poll]], :time 9000000000, :process 1, :index 2, :final? true}\n\
               {:type :ok, :f :poll, :value [[:poll]], :time 9001000000, :process 1, :index 3, :final? true}\n\
               {:type :invoke, :f :poll, :value [[:poll]], :time 9002000000, :process 1, :index 4, :final? true}\n\
               {:type :ok, :f :poll, :value [[:poll {}]], :time 9003000000, :process 1, :index 5, :final? true}\n";
    let txt = "0\t:invoke\t:send\t[[:send \"9\" 1]]\n\
               0\t:ok\t:send\t[[:send \"9\" [0 1]]]\n\
               1\t:invoke\t:assign\t[\"9\"]\n\
               1\t:ok\t:assign\t[\"9\"]\n\
               1\t:invoke\t:poll\t[[:poll]]\n\
               1\t:ok\t:poll\t[[:poll {\"9\" [[0 1]]}]]\n";
    let mut files = vec![
        (
            "jepsen.log",
            jepsen_log(
                r#""test" "-w" "kafka" "--bin" "k.rb" "--node-count" "1" "--time-limit" "10""#,
                "kafka",
                r#""n0""#,
            ),
        ),
        ("history.edn", edn.to_owned()),
        (
            "results.edn",
            results_edn("{:valid? true, :bad-error-types ()}", "true"),
        ),
    ];
    if with_text {
        files.push(("history.txt", txt.to_owned()));
    }
    files
}

fn store_of(name: &str, files: &[(&'static str, String)]) -> PathBuf {
    let borrowed: Vec<(&str, &str)> = files.iter().map(|(f, t)| (*f, t.as_str())).collect();
    store(name, &borrowed)
}

#[test]
fn stale_kafka_values_in_history_edn_give_way_to_history_txt() {
    let dir = store_of("kafka", &kafka_files(true));
    let comparison = analyze(&dir).unwrap();
    let assign = &comparison.run.history[2];
    assert_eq!(
        (assign.f.as_str(), &assign.value),
        ("assign", &serde_json::json!(["9"]))
    );
    assert_eq!(
        comparison.run.history[5].value,
        serde_json::json!([["poll", {"9": [[0, 1]]}]])
    );
    assert!(
        comparison
            .run
            .notes
            .iter()
            .any(|n| n.starts_with("3 operations of history.edn")),
        "{:?}",
        comparison.run.notes
    );
    assert_eq!(
        both(&comparison.verdicts, "workload"),
        (Some(Validity::Valid), Some(Validity::Valid)),
        "{:#}",
        comparison.results["workload"]
    );
}

#[test]
fn without_history_txt_a_kafka_history_is_said_to_be_untrusted() {
    let dir = store_of("kafka-no-text", &kafka_files(false));
    let comparison = analyze(&dir).unwrap();
    let note = comparison.run.notes.join("\n");
    assert!(
        note.contains("a kafka verdict from it cannot be trusted"),
        "{note}"
    );
    assert!(comparison.text().contains("note: no history.txt"));
    // The stale final assign and empty poll make the sent message look unseen; Maelstrom
    // never saw that, so it is no verdict.
    assert_eq!(
        both(&comparison.verdicts, "workload"),
        (Some(Validity::Valid), Some(Validity::Unknown)),
        "{:#}",
        comparison.results["workload"]
    );
    assert_eq!(comparison.validity(), Validity::Unknown);
}

#[test]
fn a_glomers_run_directory_is_not_a_maelstrom_store() {
    let dir = store("ours", &[("history.edn", ""), ("test.json", "{}")]);
    assert!(!is_maelstrom_store(&dir));
    assert!(!is_maelstrom_store(Path::new("/nonexistent")));
}

#[test]
fn a_bad_line_is_named() {
    let mut files = kafka_files(true);
    files[1].1.push_str("{:type :weird, :process 0}\n");
    let dir = store_of("bad", &files);
    let error = analyze(&dir).unwrap_err().to_string();
    assert!(
        error.ends_with("history.edn:7: unknown :type Some(\"weird\")"),
        "{error}"
    );
}
