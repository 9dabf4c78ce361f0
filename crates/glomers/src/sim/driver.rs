//! The simulation driver: the run's state machine ([`crate::model::run`]) and in-process
//! nodes ([`SimNode`]) on one virtual clock, in one thread. Time jumps to the next thing
//! that is due (a delivery, a client deadline, the generator, the nemesis, a node's timer);
//! a node's handler takes no simulated time.
//!
//! At one instant the order is fixed: the machine runs everything due, each line it
//! delivers goes to its node in order and what the node prints goes straight back in; then
//! nodes whose timers are due wake, in node order. Nothing depends on a thread or a hash.

use crate::model::node::SimNode;
use crate::model::run::{Delivery, JournalEvent, RunModel};
use crate::run_errors::RunError;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

/// Runs `model` to its end with `nodes` (in the options' node order), handing every
/// journal event to `journal` as it happens. Returns the virtual time the run ended at.
pub fn drive(
    model: &mut RunModel,
    nodes: &mut [(String, Box<dyn SimNode>)],
    mut journal: impl FnMut(JournalEvent),
) -> Duration {
    let mut now = Duration::ZERO;
    // Each node's next wake, kept up to date as it acts (asking every node at every step
    // was most of the simulator's time).
    let mut wakes: Vec<Option<Duration>> = nodes.iter().map(|(_, n)| n.next_wake()).collect();
    loop {
        model.advance(now);
        loop {
            for event in model.take_journal() {
                journal(event);
            }
            let deliveries = model.take_deliveries();
            if deliveries.is_empty() {
                break;
            }
            for Delivery { node, line, .. } in deliveries {
                if let Some(i) = nodes.iter().position(|(id, _)| *id == node) {
                    let (id, sim) = &mut nodes[i];
                    run_node(model, id, sim.as_mut(), now, |n| n.deliver(&line, now));
                    wakes[i] = sim.next_wake();
                }
            }
            model.advance(now);
        }
        if model.is_done() {
            return now;
        }
        if model.next_wake().is_some_and(|at| at <= now) {
            // The machine ran everything due and still names this moment: a scheduling bug
            // that would otherwise spin forever.
            model.fail(RunError::Internal(format!(
                "the simulation made no progress at {:.6} s of virtual time",
                now.as_secs_f64()
            )));
            return now;
        }
        let node_wake = wakes.iter().flatten().min().copied();
        let next = match (model.next_wake(), node_wake) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) | (None, Some(a)) => a,
            (None, None) => {
                model.fail(RunError::internal(
                    "the simulation stopped: nothing is scheduled and the run is not over",
                ));
                return now;
            }
        };
        now = now.max(next);
        for (i, (id, sim)) in nodes.iter_mut().enumerate() {
            if wakes[i].is_some_and(|at| at <= now) {
                run_node(model, id, sim.as_mut(), now, |n| n.wake(now));
                wakes[i] = sim.next_wake();
            }
        }
    }
}

/// Lets one node act, then routes what it printed. A node that panics is a node that
/// crashed: the run ends as a process run ends when a node exits.
fn run_node(
    model: &mut RunModel,
    id: &str,
    node: &mut dyn SimNode,
    now: Duration,
    act: impl FnOnce(&mut dyn SimNode),
) {
    if let Err(panic) = catch_unwind(AssertUnwindSafe(|| act(&mut *node))) {
        let what = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("a panic");
        model.fail(RunError::NodeExited {
            node: id.to_owned(),
            report: format!("panicked: {what}"),
        });
        return;
    }
    for line in node.take_output() {
        model.node_printed(id, &line, now);
    }
}
