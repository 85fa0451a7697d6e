//! Seed corpora for libFuzzer: generated inputs the oracles agree on.

use std::path::Path;

use crate::inputs::{Inputs, Reuse};
use crate::judge::{Judge, Target};
use crate::oracle::Verdict;

/// Writes `count` seed inputs for `target` into `dir`: generated inputs
/// the oracle judges `Agree` (discarded ones teach libFuzzer nothing), named
/// by their hash so reruns do not duplicate them. Returns how many of the
/// generated inputs were tried.
pub fn seeds(target: Target, count: usize, seed: u64, dir: &Path) -> Result<usize, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    // Seeds are judged by our two engines: libFuzzer's inputs need no
    // runner to be read.
    let mut judge = Judge::new(target, None, None)?;
    let mut inputs = Inputs::new(target, Reuse::NONE, seed);
    let (mut kept, mut tried) = (0, 0);
    // Bounded: a generator that never yields an agreeing input is a bug to
    // report, not a loop to wait on.
    while kept < count && tried < count * 100 {
        tried += 1;
        let input = inputs.next();
        match judge.input(&input)? {
            Verdict::Agree | Verdict::Explained { .. } => {
                let name = blake3::hash(&input).to_hex();
                let path = dir.join(format!("{}.bin", &name[..16]));
                std::fs::write(&path, &input).map_err(|e| format!("{}: {e}", path.display()))?;
                kept += 1;
            }
            Verdict::Diverge(divergence) => {
                return Err(format!(
                    "a seed candidate diverges ({}); run a campaign with --seed {seed}",
                    divergence.key()
                ));
            }
            Verdict::Discard(_) => {}
        }
    }
    if kept < count {
        return Err(format!("only {kept} of {tried} inputs agreed"));
    }
    Ok(tried)
}
