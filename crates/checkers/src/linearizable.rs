//! Linearizability of one compare-and-set register (Knossos's `cas-register` model with
//! initial value `nil`), decided with the Wing-Gong-Lowe search: walk the history's calls
//! and returns in order, tentatively linearize a call whenever the model accepts it, and
//! backtrack when a return is reached whose call has not been linearized. Configurations
//! already explored (the set of linearized operations and the register's value) are
//! remembered, so each is searched once.
//!
//! Knossos's semantics: an `ok` operation takes effect once, between its invocation and its
//! completion; a `fail` never takes effect (callers leave it out); an indeterminate one may
//! take effect at any point after its invocation, or never. A read of `nil` is accepted in
//! any state ([QUIRK] in upstream's model, kept).

use std::collections::HashSet;

/// A register operation, values interned (0 is `nil`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegisterOp {
    /// Read a value.
    Read(u32),
    /// Write a value.
    Write(u32),
    /// Compare `from`, set `to`.
    Cas(u32, u32),
}

/// One operation of a single key's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation {
    /// What it did.
    pub op: RegisterOp,
    /// When it was invoked (a position in the whole history).
    pub invoked: u64,
    /// When it completed `ok`; `None` for indeterminate operations.
    pub completed: Option<u64>,
}

/// The search's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Some order satisfies the model.
    Linearizable,
    /// No order does. `op` is an operation that could not be linearized at the deepest point
    /// the search reached, with the register values it could have held there and the last
    /// operations linearized before it (oldest first).
    NotLinearizable {
        /// Index (into the input) of the operation that could not be placed.
        op: usize,
        /// Register values possible at that point.
        states: Vec<u32>,
        /// Up to ten operations linearized just before it.
        before: Vec<usize>,
    },
    /// The search gave up after exploring this many configurations.
    GaveUp(usize),
}

/// The most configurations explored before giving up (`unknown`).
pub const CONFIGURATION_LIMIT: usize = 20_000_000;

fn step(state: u32, op: RegisterOp) -> Option<u32> {
    match op {
        RegisterOp::Read(v) => (v == 0 || v == state).then_some(state),
        RegisterOp::Write(v) => Some(v),
        RegisterOp::Cas(from, to) => (from == state).then_some(to),
    }
}

/// A doubly linked list of call and return entries, with O(1) lift and unlift.
struct Entries {
    /// (operation, is it the call)
    items: Vec<(usize, bool)>,
    next: Vec<usize>,
    prev: Vec<usize>,
    /// For each operation: its call entry and its return entry (if any).
    call_of: Vec<usize>,
    return_of: Vec<Option<usize>>,
}

const HEAD: usize = 0;

impl Entries {
    fn new(ops: &[Operation]) -> Entries {
        let mut events: Vec<(u64, bool, usize)> = Vec::with_capacity(ops.len() * 2);
        for (i, o) in ops.iter().enumerate() {
            events.push((o.invoked, true, i));
            if let Some(c) = o.completed {
                events.push((c, false, i));
            }
        }
        events.sort_unstable();
        // Entry 0 is the head sentinel; the list ends at `usize::MAX`.
        let mut items = vec![(usize::MAX, false)];
        let mut call_of = vec![0; ops.len()];
        let mut return_of = vec![None; ops.len()];
        for (_, is_call, op) in events {
            let at = items.len();
            items.push((op, is_call));
            if is_call {
                call_of[op] = at;
            } else {
                return_of[op] = Some(at);
            }
        }
        let n = items.len();
        let next = (0..n)
            .map(|i| if i + 1 < n { i + 1 } else { usize::MAX })
            .collect();
        let prev = (0..n).map(|i| i.wrapping_sub(1)).collect();
        Entries {
            items,
            next,
            prev,
            call_of,
            return_of,
        }
    }

    fn unlink(&mut self, e: usize) {
        let (p, n) = (self.prev[e], self.next[e]);
        self.next[p] = n;
        if n != usize::MAX {
            self.prev[n] = p;
        }
    }

    fn relink(&mut self, e: usize) {
        let (p, n) = (self.prev[e], self.next[e]);
        self.next[p] = e;
        if n != usize::MAX {
            self.prev[n] = e;
        }
    }

    fn lift(&mut self, op: usize) {
        self.unlink(self.call_of[op]);
        if let Some(r) = self.return_of[op] {
            self.unlink(r);
        }
    }

    /// Undoes `lift`, in reverse order.
    fn unlift(&mut self, op: usize) {
        if let Some(r) = self.return_of[op] {
            self.relink(r);
        }
        self.relink(self.call_of[op]);
    }
}

/// Decides whether `ops` (one register's history) is linearizable.
pub fn check(ops: &[Operation]) -> Verdict {
    let mut entries = Entries::new(ops);
    // Zobrist keys: a configuration is (xor of its linearized ops' keys, register value).
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut random = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let keys: Vec<u128> = (0..ops.len())
        .map(|_| (u128::from(random()) << 64) | u128::from(random()))
        .collect();
    let mut seen: HashSet<(u128, u32)> = HashSet::new();
    let mut remaining_returns = ops.iter().filter(|o| o.completed.is_some()).count();
    let mut stack: Vec<(usize, u32)> = Vec::new();
    let mut state = 0u32;
    let mut linearized = 0u128;
    let mut deepest: Option<(usize, usize, Vec<u32>, Vec<usize>)> = None;
    let mut entry = entries.next[HEAD];
    loop {
        if remaining_returns == 0 {
            return Verdict::Linearizable;
        }
        if seen.len() > CONFIGURATION_LIMIT {
            return Verdict::GaveUp(seen.len());
        }
        if entry == usize::MAX {
            // Only indeterminate calls are left after the last return: cannot happen while
            // a return remains, but backtrack rather than loop.
            match stack.pop() {
                Some((op, previous)) => {
                    state = previous;
                    linearized ^= keys[op];
                    entries.unlift(op);
                    if ops[op].completed.is_some() {
                        remaining_returns += 1;
                    }
                    entry = entries.next[entries.call_of[op]];
                    continue;
                }
                None => return Verdict::GaveUp(seen.len()),
            }
        }
        let (op, is_call) = entries.items[entry];
        if is_call {
            if let Some(next_state) = step(state, ops[op].op) {
                let config = (linearized ^ keys[op], next_state);
                if seen.insert(config) {
                    stack.push((op, state));
                    state = next_state;
                    linearized = config.0;
                    entries.lift(op);
                    if ops[op].completed.is_some() {
                        remaining_returns -= 1;
                    }
                    entry = entries.next[HEAD];
                    continue;
                }
            }
            entry = entries.next[entry];
            continue;
        }
        // A return whose call is not linearized yet: this branch is dead.
        let depth = stack.len();
        match &mut deepest {
            Some((d, stuck, states, _)) if *d == depth && *stuck == op => {
                if !states.contains(&state) && states.len() < 10 {
                    states.push(state);
                }
            }
            Some((d, ..)) if *d >= depth => {}
            _ => {
                let before = stack.iter().rev().take(10).rev().map(|(o, _)| *o).collect();
                deepest = Some((depth, op, vec![state], before));
            }
        }
        match stack.pop() {
            Some((undone, previous)) => {
                state = previous;
                linearized ^= keys[undone];
                entries.unlift(undone);
                if ops[undone].completed.is_some() {
                    remaining_returns += 1;
                }
                entry = entries.next[entries.call_of[undone]];
            }
            None => {
                let (_, op, states, before) = deepest.unwrap_or((0, op, vec![state], Vec::new()));
                return Verdict::NotLinearizable { op, states, before };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use RegisterOp::*;

    fn ok(op: RegisterOp, invoked: u64, completed: u64) -> Operation {
        Operation {
            op,
            invoked,
            completed: Some(completed),
        }
    }

    fn info(op: RegisterOp, invoked: u64) -> Operation {
        Operation {
            op,
            invoked,
            completed: None,
        }
    }

    #[test]
    fn sequential_histories_follow_the_register() {
        let h = [
            ok(Write(1), 0, 1),
            ok(Read(1), 2, 3),
            ok(Cas(1, 2), 4, 5),
            ok(Read(2), 6, 7),
        ];
        assert_eq!(check(&h), Verdict::Linearizable);
        let stale = [ok(Write(1), 0, 1), ok(Write(2), 2, 3), ok(Read(1), 4, 5)];
        match check(&stale) {
            Verdict::NotLinearizable { op, states, .. } => {
                assert_eq!(op, 2);
                assert_eq!(states, [2]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn concurrent_operations_may_take_effect_in_either_order() {
        let h = [ok(Write(1), 0, 5), ok(Write(2), 1, 6), ok(Read(1), 7, 8)];
        assert_eq!(check(&h), Verdict::Linearizable);
        let h = [ok(Write(1), 0, 5), ok(Read(2), 1, 6)];
        assert!(matches!(check(&h), Verdict::NotLinearizable { .. }));
    }

    #[test]
    fn nil_reads_are_free_and_failed_cas_is_left_out() {
        let h = [ok(Write(3), 0, 1), ok(Read(0), 2, 3)];
        assert_eq!(check(&h), Verdict::Linearizable);
        let lost_cas = [ok(Write(1), 0, 1), ok(Cas(2, 3), 2, 3)];
        assert!(matches!(check(&lost_cas), Verdict::NotLinearizable { .. }));
    }

    #[test]
    fn indeterminate_operations_may_happen_late_or_never() {
        let late = [
            info(Write(4), 0),
            ok(Read(0), 1, 2),
            ok(Write(1), 3, 4),
            ok(Read(4), 5, 6),
        ];
        assert_eq!(check(&late), Verdict::Linearizable);
        let never = [info(Write(4), 0), ok(Write(1), 1, 2), ok(Read(1), 3, 4)];
        assert_eq!(check(&never), Verdict::Linearizable);
        let before_invocation = [ok(Read(4), 0, 1), info(Write(4), 2)];
        assert!(matches!(
            check(&before_invocation),
            Verdict::NotLinearizable { .. }
        ));
    }

    #[test]
    fn long_concurrent_histories_are_decided() {
        // Ten clients, 20,000 operations, each overlapping the next few.
        let mut h = Vec::new();
        let mut value = 0u32;
        for i in 0..20_000u64 {
            let op = match i % 3 {
                0 => {
                    value = (i % 5) as u32 + 1;
                    Write(value)
                }
                1 => Read(value),
                _ => Cas(value, value),
            };
            h.push(ok(op, i * 10, i * 10 + 25));
        }
        assert_eq!(check(&h), Verdict::Linearizable);
    }
}
