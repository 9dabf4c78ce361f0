//! Elle's `wr-txns` transaction generator, shared by txn-rw-register (writes `w`) and
//! txn-list-append (writes `append`).

use super::{elle_key_position, Generator, Invocation};
use crate::options::TestOptions;
use rand::Rng;
use rand_pcg::Pcg64Mcg;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;

/// Elle's default (there is no CLI flag for it).
const MIN_TXN_LENGTH: u64 = 1;
/// Elle's default when `--key-count` is absent.
const DEFAULT_KEY_COUNT: u64 = 10;

/// Elle's `wr-txns`: transactions of 1..=max micro-ops, each a read or a write with equal
/// odds, on a key drawn from the active pool with exponential bias (base 2, the last
/// position hottest); writes to a key are 1, 2, 3, ...; a key that would exceed
/// `max-writes-per-key` is replaced in its pool position by a fresh key and the draw is
/// repeated.
pub struct TxnGenerator {
    /// `w` for registers, `append` for lists.
    write_f: &'static str,
    active: Vec<u64>,
    next_write: BTreeMap<u64, u64>,
    min_length: u64,
    max_length: u64,
    max_writes: u64,
}

impl TxnGenerator {
    /// A generator of register writes (`w`) for these options.
    pub fn new(options: &TestOptions) -> Self {
        Self::with_writes(options, "w")
    }

    /// A generator whose writes are called `write_f` (`append` for txn-list-append).
    pub fn with_writes(options: &TestOptions, write_f: &'static str) -> Self {
        let key_count = options.key_count.unwrap_or(DEFAULT_KEY_COUNT).max(1);
        TxnGenerator {
            write_f,
            active: (0..key_count).collect(),
            next_write: BTreeMap::new(),
            min_length: MIN_TXN_LENGTH,
            max_length: options.max_txn_length.max(MIN_TXN_LENGTH),
            max_writes: options.max_writes_per_key,
        }
    }

    fn position(&self, rng: &mut Pcg64Mcg) -> usize {
        elle_key_position(rng, self.active.len())
    }

    /// The next transaction, as micro-ops `[f, k, v]`.
    pub fn txn(&mut self, rng: &mut Pcg64Mcg) -> Value {
        let length = rng.gen_range(self.min_length..=self.max_length);
        let mut mops = Vec::with_capacity(length as usize);
        while (mops.len() as u64) < length {
            let write = rng.gen_bool(0.5);
            let position = self.position(rng);
            let key = self.active[position];
            if !write {
                mops.push(json!(["r", key, null]));
                continue;
            }
            let value = *self.next_write.get(&key).unwrap_or(&1);
            if value > self.max_writes {
                let fresh = self.active.iter().max().map_or(0, |m| m + 1);
                self.active[position] = fresh;
                continue;
            }
            self.next_write.insert(key, value + 1);
            mops.push(json!([self.write_f, key, value]));
        }
        Value::Array(mops)
    }
}

impl Generator for TxnGenerator {
    fn next(&mut self, rng: &mut Pcg64Mcg, _now: Duration) -> Invocation {
        Invocation::new("txn", self.txn(rng))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn options(key_count: Option<u64>, max_writes: u64) -> TestOptions {
        TestOptions {
            key_count,
            max_writes_per_key: max_writes,
            ..TestOptions::example("txn-rw-register")
        }
    }

    #[test]
    fn transactions_have_elle_shape_and_unique_writes() {
        let mut g = TxnGenerator::new(&options(None, 16));
        let mut rng = Pcg64Mcg::seed_from_u64(7);
        let mut written: BTreeMap<(u64, u64), u32> = BTreeMap::new();
        let mut keys = std::collections::BTreeSet::new();
        for _ in 0..5000 {
            let txn = g.txn(&mut rng);
            let mops = txn.as_array().expect("list");
            assert!((1..=4).contains(&mops.len()), "{txn}");
            for m in mops {
                let k = m[1].as_u64().expect("int key");
                keys.insert(k);
                match m[0].as_str() {
                    Some("r") => assert!(m[2].is_null()),
                    Some("w") => {
                        let v = m[2].as_u64().expect("int value");
                        assert!((1..=16).contains(&v), "{m}");
                        *written.entry((k, v)).or_default() += 1;
                    }
                    other => panic!("unexpected {other:?}"),
                }
            }
        }
        assert!(
            written.values().all(|n| *n == 1),
            "writes are unique per key"
        );
        assert!(keys.len() > 100, "keys retire: {} distinct", keys.len());
        assert_eq!(g.active.len(), 10);
    }

    #[test]
    fn the_last_pool_position_is_the_hottest() {
        let g = TxnGenerator::new(&options(Some(4), 16));
        let mut rng = Pcg64Mcg::seed_from_u64(1);
        let mut counts = [0u32; 4];
        for _ in 0..15_000 {
            counts[g.position(&mut rng)] += 1;
        }
        // Expected shares 1/15, 2/15, 4/15, 8/15.
        for (i, c) in counts.iter().enumerate() {
            let expected = 15_000.0 * f64::from(1u32 << i) / 15.0;
            assert!(
                (f64::from(*c) - expected).abs() < expected * 0.15,
                "{counts:?}"
            );
        }
    }
}
