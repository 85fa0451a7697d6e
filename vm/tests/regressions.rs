//! Replays the minimized contracts of `corpus/regressions/`: each names the
//! function to call and the expected output in its leading comments, and
//! both engines must agree on it.

mod common;

use std::path::Path;

use common::call_both;

#[test]
fn regression_contracts_agree() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus/regressions");
    let mut replayed = 0;
    for entry in std::fs::read_dir(&dir).expect("corpus/regressions exists") {
        let path = entry.expect("directory entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("wat") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("readable");
        let directive = |name: &str| {
            text.lines()
                .find_map(|line| line.strip_prefix(&format!(";; {name}:")))
                .map(|value| value.trim().to_string())
        };
        let function = directive("call").expect("a `;; call:` line");
        let expected = directive("expect-output").expect("an `;; expect-output:` line");
        let receipt = call_both(&text, &function, &[], 1_000_000);
        assert_eq!(
            receipt.result.map(hex::encode),
            Ok(expected),
            "{}",
            path.display()
        );
        replayed += 1;
    }
    assert!(
        replayed > 0,
        "no regression contracts found in {}",
        dir.display()
    );
}
