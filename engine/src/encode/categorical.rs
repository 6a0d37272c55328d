//! Categorical columns: one-hot encoding of the frequent levels (sparse).

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

/// One-hot encodes the levels seen at least `min_count` times in the training rows (at most
/// `max_levels`, most frequent first, ties by name). Rare, unseen and missing values get no column
/// set (all zeros), so new categories at prediction time are handled without error.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CategoricalEncoder {
    /// Source column name.
    pub column: String,
    /// Kept levels, in column order.
    pub levels: Vec<String>,
    #[serde(skip)]
    index: HashMap<String, usize>,
}

impl CategoricalEncoder {
    /// Fits on the training values.
    pub fn fit(column: &str, train: &[Option<&str>], min_count: usize, max_levels: usize) -> Self {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for v in train.iter().flatten() {
            *counts.entry(v).or_default() += 1;
        }
        let mut levels: Vec<(&str, usize)> = counts
            .into_iter()
            .filter(|&(_, c)| c >= min_count.max(1))
            .collect();
        levels.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        levels.truncate(max_levels);
        let levels: Vec<String> = levels.into_iter().map(|(l, _)| l.to_string()).collect();
        let mut enc = Self {
            column: column.to_string(),
            levels,
            index: HashMap::new(),
        };
        enc.rebuild_index();
        enc
    }

    fn rebuild_index(&mut self) {
        self.index = self
            .levels
            .iter()
            .enumerate()
            .map(|(i, l)| (l.clone(), i))
            .collect();
    }

    /// Number of emitted columns.
    pub fn width(&self) -> usize {
        self.levels.len()
    }

    /// Names of the emitted columns, `column=level`.
    pub fn names(&self) -> Vec<String> {
        self.levels
            .iter()
            .map(|l| format!("{}={}", self.column, l))
            .collect()
    }

    /// The column (within this encoder) set for `value`, if any.
    pub fn encode(&mut self, value: Option<&str>) -> Option<usize> {
        if self.index.len() != self.levels.len() {
            self.rebuild_index();
        }
        self.index.get(value?).copied()
    }

    /// Like [`encode`](Self::encode) without rebuilding the index (linear scan after deserialization).
    pub fn lookup(&self, value: Option<&str>) -> Option<usize> {
        let v = value?;
        if self.index.len() == self.levels.len() {
            self.index.get(v).copied()
        } else {
            self.levels.iter().position(|l| l == v)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_frequent_levels_in_order_and_ignores_unseen() {
        let vals = [
            Some("b"),
            Some("a"),
            Some("b"),
            Some("c"),
            None,
            Some("a"),
            Some("b"),
        ];
        let mut e = CategoricalEncoder::fit("col", &vals, 2, 10);
        assert_eq!(e.levels, vec!["b", "a"]);
        assert_eq!(e.names(), vec!["col=b", "col=a"]);
        assert_eq!(e.encode(Some("a")), Some(1));
        assert_eq!(e.encode(Some("c")), None);
        assert_eq!(e.encode(Some("zzz")), None);
        assert_eq!(e.lookup(None), None);
        let back: CategoricalEncoder =
            serde_json::from_str(&serde_json::to_string(&e).unwrap()).unwrap();
        assert_eq!(back.lookup(Some("b")), Some(0));
    }

    #[test]
    fn max_levels_truncates_by_frequency() {
        let vals = [
            Some("x"),
            Some("y"),
            Some("y"),
            Some("z"),
            Some("z"),
            Some("z"),
        ];
        let e = CategoricalEncoder::fit("c", &vals, 1, 2);
        assert_eq!(e.levels, vec!["z", "y"]);
    }
}
