//! The property every answer parser keeps: any input gives a value or a typed error, never a
//! panic. Shared by the adapter tests, each with its own parsers and fixtures.

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, TestRunner};

/// Feeds `parse` arbitrary bytes, then the `fixtures` (real or synthetic answers) with bytes
/// overwritten and cut short. A panic fails the test with the smallest input proptest finds.
pub fn never_panic(fixtures: &[Vec<u8>], parse: impl Fn(&[u8])) {
    let mut runner = TestRunner::new(Config { cases: 256, ..Config::default() });
    runner
        .run(&proptest::collection::vec(any::<u8>(), 0..600), |body| {
            parse(&body);
            Ok(())
        })
        .unwrap_or_else(|e| panic!("arbitrary bytes: {e}"));
    let mutations = (0..fixtures.len(), proptest::collection::vec((any::<Index>(), any::<u8>()), 1..8), any::<Index>());
    runner
        .run(&mutations, |(which, edits, cut)| {
            let mut body = fixtures[which].clone();
            for (at, byte) in edits {
                let i = at.index(body.len());
                body[i] = byte;
            }
            parse(&body);
            parse(&body[..cut.index(body.len() + 1)]);
            Ok(())
        })
        .unwrap_or_else(|e| panic!("a mutated fixture: {e}"));
}
