//! The deviation catalogue and the scenarios agree: every entry is shown by
//! at least one scenario, every scenario names only entries that exist, and
//! `docs/deviations.md` is the catalogue as it is now.

use std::collections::BTreeSet;

use conformance::catalogue::Catalogue;
use conformance::scenario::Scenario;
use conformance::suite::find_scenarios;

fn uses() -> Vec<(String, String)> {
    let corpus = conformance::repository_root().join("corpus");
    let scenarios = corpus.join("scenarios");
    let mut uses = Vec::new();
    for path in find_scenarios(std::slice::from_ref(&scenarios)).expect("scenarios") {
        let scenario = Scenario::load(&path, &corpus, &scenarios).expect("loads");
        for step in &scenario.steps {
            for id in &step.deviations {
                uses.push((id.clone(), scenario.name.clone()));
            }
        }
    }
    uses
}

fn catalogue() -> Catalogue {
    Catalogue::load(&conformance::repository_root().join("corpus/deviations.toml"))
        .expect("the catalogue loads")
}

#[test]
fn every_entry_has_a_scenario_and_every_name_an_entry() {
    let catalogue = catalogue();
    let uses = uses();
    let named: BTreeSet<&str> = uses.iter().map(|(id, _)| id.as_str()).collect();
    for entry in &catalogue.entries {
        assert!(
            named.contains(entry.id.as_str()),
            "no scenario shows `{}`",
            entry.id
        );
    }
    for id in named {
        assert!(
            catalogue.get(id).is_some(),
            "`{id}` is not in the catalogue"
        );
    }
    assert!(catalogue.entries.len() >= 16, "{}", catalogue.entries.len());
}

#[test]
fn the_documentation_is_the_catalogue() {
    let expected = catalogue().markdown(&uses());
    let path = conformance::repository_root().join("docs/deviations.md");
    let actual = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        actual == expected,
        "docs/deviations.md is out of date: run `cargo run -p conformance -- catalogue > docs/deviations.md`"
    );
}
