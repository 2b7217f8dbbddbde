//! Detection and false positives over the corpus in tests/corpus (regenerate with
//! generate.py). Targets: at least 97 % detection per category, at most 0.5 % false positives.

use std::collections::BTreeMap;

use edge_filter::Inspector;

#[test]
fn detection_and_false_positive_rates_meet_the_targets() {
    let inspector = Inspector::default();
    let mut per_category: BTreeMap<String, (usize, usize, Vec<String>)> = BTreeMap::new();
    for line in include_str!("corpus/attacks.jsonl").lines() {
        let entry: serde_json::Value = serde_json::from_str(line).unwrap();
        let payload = entry["payload"].as_str().unwrap();
        let stats = per_category
            .entry(entry["category"].as_str().unwrap().to_owned())
            .or_default();
        stats.0 += 1;
        if inspector
            .inspect_value(|| "body./x".into(), payload)
            .is_some()
        {
            stats.1 += 1;
        } else {
            stats.2.push(payload.to_owned());
        }
    }
    let benign: Vec<String> = include_str!("corpus/benign.jsonl")
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let false_positives: Vec<(String, String)> = benign
        .iter()
        .filter_map(|text| {
            inspector
                .inspect_value(|| "body./x".into(), text)
                .map(|f| (text.clone(), f.rule_id))
        })
        .collect();

    let total: usize = per_category.values().map(|s| s.0).sum();
    println!(
        "corpus: {total} attack strings, {} benign strings",
        benign.len()
    );
    for (category, (count, detected, missed)) in &per_category {
        println!(
            "  {category:<18} {detected}/{count} detected ({:.1} %)",
            100.0 * *detected as f64 / *count as f64
        );
        for payload in missed {
            println!("      missed: {payload:?}");
        }
    }
    let fp_rate = 100.0 * false_positives.len() as f64 / benign.len() as f64;
    println!(
        "  false positives    {}/{} ({fp_rate:.2} %)",
        false_positives.len(),
        benign.len()
    );
    for (text, rule) in &false_positives {
        println!("      blocked by {rule}: {text:?}");
    }

    assert!(
        total >= 300 && benign.len() >= 300,
        "the corpus is too small"
    );
    for (category, (count, detected, _)) in &per_category {
        assert!(
            *detected as f64 >= 0.97 * *count as f64,
            "{category}: {detected}/{count} below 97 %"
        );
    }
    assert!(fp_rate <= 0.5, "false positives {fp_rate:.2} % above 0.5 %");
}
