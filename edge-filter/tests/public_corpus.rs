//! Detection and false positives on the public corpus in tests/corpus/public:
//! attack strings from public collections nobody here wrote (libinjection's
//! test data, the OWASP CRS regression tests, PayloadsAllTheThings, SecLists,
//! the Big List of Naughty Strings) and real-world benign text, split once at
//! random into a tuning part and a held-out part (`build.py`).
//!
//! The rules are written against the tuning part only. The held-out part is
//! measured, never read: this test prints its figures but not its strings.
//! `EDGE_CORPUS_MISSES=1` prints the tuning part's misses and false positives.

use std::collections::BTreeMap;

use edge_filter::Inspector;

/// Detection (per category) and false positives of one part.
struct Figures {
    /// category -> (strings, detected)
    detection: BTreeMap<String, (usize, usize)>,
    /// source -> (strings, detected), attack strings only
    by_source: BTreeMap<String, (usize, usize)>,
    benign: usize,
    false_positives: usize,
}

impl Figures {
    fn rate(&self, category: &str) -> f64 {
        let (count, detected) = self.detection[category];
        100.0 * detected as f64 / count as f64
    }

    fn false_positive_rate(&self) -> f64 {
        100.0 * self.false_positives as f64 / self.benign as f64
    }

    fn print(&self, part: &str) {
        let attacks: usize = self.detection.values().map(|d| d.0).sum();
        println!(
            "{part}: {attacks} attack strings, {} benign strings",
            self.benign
        );
        for (category, (count, detected)) in &self.detection {
            println!(
                "  {category:<18} {detected:>5}/{count:<5} detected ({:.1} %)",
                self.rate(category)
            );
        }
        println!(
            "  false positives    {:>5}/{:<5} ({:.2} %)",
            self.false_positives,
            self.benign,
            self.false_positive_rate()
        );
        println!("  by source:");
        for (source, (count, detected)) in &self.by_source {
            println!(
                "    {source:<60} {detected:>5}/{count:<5} ({:.1} %)",
                100.0 * *detected as f64 / *count as f64
            );
        }
    }
}

/// The collection a corpus line came from (`libinjection`, `OWASP`, ...), or
/// the evasion family that made it.
fn collection(source: &str) -> String {
    match source.split_once(", evasion ") {
        Some((_, family)) => format!("evasion {family}"),
        None => source.split_whitespace().next().unwrap_or(source).to_owned(),
    }
}

fn measure(part: &str, print_misses: bool) -> Figures {
    let inspector = Inspector::default();
    let mut figures = Figures {
        detection: BTreeMap::new(),
        by_source: BTreeMap::new(),
        benign: 0,
        false_positives: 0,
    };
    for line in part.lines() {
        let entry: serde_json::Value = serde_json::from_str(line).unwrap();
        let payload = entry["payload"].as_str().unwrap();
        let category = entry["category"].as_str().unwrap();
        let source = entry["source"].as_str().unwrap();
        let finding = inspector.inspect_value(|| "body./x".into(), payload);
        if category == "benign" {
            figures.benign += 1;
            if let Some(finding) = finding {
                figures.false_positives += 1;
                if print_misses {
                    println!("    blocked by {}: {payload:?} ({source})", finding.rule_id);
                }
            }
            continue;
        }
        let detected = usize::from(finding.is_some());
        let stats = figures.detection.entry(category.to_owned()).or_default();
        stats.0 += 1;
        stats.1 += detected;
        let stats = figures
            .by_source
            .entry(format!("{category}: {}", collection(source)))
            .or_default();
        stats.0 += 1;
        stats.1 += detected;
        if print_misses && finding.is_none() {
            println!("    missed {category}: {payload:?} ({source})");
        }
    }
    figures
}

fn misses_wanted() -> bool {
    std::env::var_os("EDGE_CORPUS_MISSES").is_some()
}

#[test]
fn tuning_part() {
    let figures = measure(include_str!("corpus/public/tuning.jsonl"), misses_wanted());
    figures.print("tuning part");
}

#[test]
fn held_out_part() {
    let figures = measure(include_str!("corpus/public/held-out.jsonl"), false);
    figures.print("held-out part");
}
