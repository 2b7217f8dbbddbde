//! Reading back what the edge crates record through the `metrics` facade, with
//! metrics-util's debugging recorder: each [`Recorded::changes`] holds what
//! moved since the last (the recorder swaps counters to zero when read).
#![allow(clippy::missing_panics_doc, reason = "test helpers")]

use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};

/// One metric that moved: its name, sorted labels and value.
pub type Change = (String, Vec<(String, String)>, DebugValue);

/// A debugging recorder installed for the whole test process (one per
/// process: keep a crate's metric tests in one test binary and one test, so
/// nothing else moves the counters between two reads).
#[derive(Debug)]
pub struct Recorded(Snapshotter);

impl Recorded {
    /// Install the process's recorder.
    pub fn install() -> Recorded {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        if recorder.install().is_err() {
            panic!("a metrics recorder is already installed in this test process");
        }
        Recorded(snapshotter)
    }

    /// What moved since the last call.
    pub fn changes(&self) -> Changes {
        Changes(
            self.0
                .snapshot()
                .into_vec()
                .into_iter()
                .map(|(key, _, _, value)| {
                    let (_, key) = key.into_parts();
                    let mut labels: Vec<(String, String)> = key
                        .labels()
                        .map(|l| (l.key().to_owned(), l.value().to_owned()))
                        .collect();
                    labels.sort();
                    (key.name().to_owned(), labels, value)
                })
                .collect(),
        )
    }
}

/// What moved between two reads.
#[derive(Debug)]
pub struct Changes(pub Vec<Change>);

impl Changes {
    /// The value of `name` with exactly `labels`, if it was recorded.
    pub fn find(&self, name: &str, labels: &[(&str, &str)]) -> Option<&DebugValue> {
        let mut wanted: Vec<(String, String)> = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        wanted.sort();
        self.0
            .iter()
            .find(|(n, l, _)| n == name && *l == wanted)
            .map(|(_, _, value)| value)
    }

    /// How much counter `name` with exactly `labels` grew (0 if never recorded).
    pub fn counter(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
        match self.find(name, labels) {
            Some(DebugValue::Counter(n)) => *n,
            None => 0,
            Some(other) => panic!("{name} is not a counter: {other:?}"),
        }
    }

    /// The series of `name` (every label set seen so far, moved or not).
    pub fn series(&self, name: &str) -> usize {
        self.0.iter().filter(|(n, _, _)| n == name).count()
    }

    /// The sum of every counter `name` grew by, whatever its labels.
    pub fn total(&self, name: &str) -> u64 {
        self.0
            .iter()
            .filter(|(n, _, _)| n == name)
            .map(|(_, _, v)| match v {
                DebugValue::Counter(n) => *n,
                other => panic!("{name} is not a counter: {other:?}"),
            })
            .sum()
    }
}
