//! The fitted term → column map of a TF-IDF analyzer.

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

/// Sorted terms (column `j` holds `terms()[j]`) and a hash index from term to column.
/// Serialized as the plain sorted list of terms; the index is rebuilt on load.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(from = "Vec<String>", into = "Vec<String>")]
pub struct Vocabulary {
    terms: Vec<String>,
    index: FxHashMap<Box<str>, u32>,
}

impl Vocabulary {
    /// Builds from terms already sorted and deduplicated (column order = given order).
    pub(crate) fn from_sorted(terms: Vec<String>, index: FxHashMap<Box<str>, u32>) -> Self {
        debug_assert_eq!(terms.len(), index.len());
        Self { terms, index }
    }

    /// Number of terms (columns).
    pub fn len(&self) -> usize {
        self.terms.len()
    }

    /// Whether there are no terms.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Terms in column order (sorted by code point, like scikit-learn).
    pub fn terms(&self) -> &[String] {
        &self.terms
    }

    /// Column of `term`, if it is in the vocabulary.
    pub fn column(&self, term: &str) -> Option<usize> {
        self.index.get(term).map(|&c| c as usize)
    }

    /// Column of `term` as `u32` (hot path).
    pub(crate) fn column_u32(&self, term: &str) -> Option<u32> {
        self.index.get(term).copied()
    }
}

impl From<Vec<String>> for Vocabulary {
    /// Terms are sorted and deduplicated so any list yields a valid vocabulary.
    fn from(mut terms: Vec<String>) -> Self {
        terms.sort_unstable();
        terms.dedup();
        let index = terms
            .iter()
            .enumerate()
            .map(|(i, t)| (Box::from(t.as_str()), i as u32))
            .collect();
        Self { terms, index }
    }
}

impl From<Vocabulary> for Vec<String> {
    fn from(v: Vocabulary) -> Self {
        v.terms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_round_trip_rebuilds_index() {
        let v = Vocabulary::from(vec!["b".to_string(), "a b".into(), "a".into(), "b".into()]);
        assert_eq!(v.terms(), ["a", "a b", "b"]);
        let json = serde_json::to_string(&v).unwrap();
        assert_eq!(json, r#"["a","a b","b"]"#);
        let back: Vocabulary = serde_json::from_str(&json).unwrap();
        assert_eq!(back.column("b"), Some(2));
        assert_eq!(back.column("a b"), Some(1));
        assert_eq!(back.column("c"), None);
    }
}
