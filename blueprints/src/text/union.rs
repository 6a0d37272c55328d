//! Several TF-IDF analyzers over the same text, stacked side by side into one CSR matrix
//! (scikit-learn's `hstack([word.fit_transform(x), char.fit_transform(x)])`).

use serde::{Deserialize, Serialize};
use sprs::CsMat;

use super::config::TfidfConfig;
use super::vectorizer::TfidfVectorizer;
use crate::error::{BlueprintError, Result};

/// A list of [`TfidfVectorizer`]s on one text column; columns are the first analyzer's, then the
/// second's, and so on. Each part is fitted and L2-normalised on its own, like sklearn's hstack.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TfidfUnion {
    parts: Vec<TfidfVectorizer>,
}

/// Side-by-side concatenation of CSR matrices with the same number of rows.
pub fn hstack_csr(blocks: &[CsMat<f32>]) -> Result<CsMat<f32>> {
    let n_rows = blocks.first().map_or(0, |b| b.rows());
    if let Some(b) = blocks.iter().find(|b| b.rows() != n_rows) {
        return Err(BlueprintError::InvalidInput(format!(
            "cannot stack a block of {} rows next to one of {n_rows}",
            b.rows()
        )));
    }
    let blocks: Vec<CsMat<f32>> = blocks.iter().map(|b| b.to_csr()).collect();
    let n_cols: usize = blocks.iter().map(|b| b.cols()).sum();
    let nnz: usize = blocks.iter().map(|b| b.nnz()).sum();
    let mut indptr = Vec::with_capacity(n_rows + 1);
    let mut indices = Vec::with_capacity(nnz);
    let mut data = Vec::with_capacity(nnz);
    indptr.push(0);
    for r in 0..n_rows {
        let mut offset = 0;
        for b in &blocks {
            if let Some(row) = b.outer_view(r) {
                for (c, &v) in row.iter() {
                    indices.push(offset + c);
                    data.push(v);
                }
            }
            offset += b.cols();
        }
        indptr.push(indices.len());
    }
    CsMat::try_new((n_rows, n_cols), indptr, indices, data).map_err(|(_, _, _, e)| {
        BlueprintError::Numeric {
            task: "hstack".into(),
            reason: e.to_string(),
        }
    })
}

/// Fits each vectorizer on `docs` and keeps those that find a term: one-letter words and symbols
/// (`x c x`, `★★☆`) leave a word analyzer empty while character n-grams exist. An error, naming
/// each analyzer, when every one is empty.
pub fn fit_nonempty<S: AsRef<str> + Sync>(
    vectorizers: Vec<TfidfVectorizer>,
    docs: &[Option<S>],
) -> Result<Vec<TfidfVectorizer>> {
    let mut kept = Vec::with_capacity(vectorizers.len());
    let mut empty = Vec::new();
    for mut v in vectorizers {
        match v.fit(docs) {
            Ok(()) => kept.push(v),
            Err(BlueprintError::EmptyVocabulary(why)) => empty.push(why),
            Err(e) => return Err(e),
        }
    }
    if kept.is_empty() {
        return Err(BlueprintError::EmptyVocabulary(empty.join("; ")));
    }
    Ok(kept)
}

impl TfidfUnion {
    /// One unfitted part per config; fails on an invalid config, an empty list, or two parts with
    /// the same feature-name prefix (names must stay unique).
    pub fn new(configs: Vec<TfidfConfig>) -> Result<Self> {
        if configs.is_empty() {
            return Err(BlueprintError::InvalidInput(
                "TfidfUnion needs at least one analyzer".into(),
            ));
        }
        for (i, c) in configs.iter().enumerate() {
            if configs[..i].iter().any(|d| d.prefix() == c.prefix()) {
                return Err(BlueprintError::InvalidParam {
                    name: "name_prefix".into(),
                    value: c.prefix().into(),
                    reason: "two analyzers share a feature-name prefix; set name_prefix".into(),
                });
            }
        }
        let parts = configs
            .into_iter()
            .map(TfidfVectorizer::new)
            .collect::<Result<_>>()?;
        Ok(Self { parts })
    }

    /// Word 1–2 grams + char_wb 2–5 grams, both sublinear: the peer harness's album-name features.
    pub fn word_and_char_wb() -> Self {
        Self {
            parts: vec![
                TfidfVectorizer::new(TfidfConfig::word(1, 2)).expect("valid built-in config"),
                TfidfVectorizer::new(TfidfConfig::char_wb(2, 5)).expect("valid built-in config"),
            ],
        }
    }

    /// The analyzers, in column order.
    pub fn parts(&self) -> &[TfidfVectorizer] {
        &self.parts
    }

    /// Fits every part on the training documents ([`fit_nonempty`]: a part that finds no term is
    /// dropped).
    pub fn fit<S: AsRef<str> + Sync>(&mut self, docs: &[Option<S>]) -> Result<()> {
        self.parts = fit_nonempty(self.parts.clone(), docs)?;
        Ok(())
    }

    /// Fits every part as [`TfidfUnion::fit`] does and returns the stacked training matrix.
    pub fn fit_transform<S: AsRef<str> + Sync>(
        &mut self,
        docs: &[Option<S>],
    ) -> Result<CsMat<f32>> {
        self.fit(docs)?;
        self.transform(docs)
    }

    /// The stacked matrix of any documents with the fitted parts.
    pub fn transform<S: AsRef<str> + Sync>(&self, docs: &[Option<S>]) -> Result<CsMat<f32>> {
        let blocks = self
            .parts
            .iter()
            .map(|p| p.transform(docs))
            .collect::<Result<Vec<_>>>()?;
        hstack_csr(&blocks)
    }

    /// Total number of columns.
    pub fn n_features(&self) -> usize {
        self.parts.iter().map(TfidfVectorizer::n_features).sum()
    }

    /// Feature names of every part, in column order (`word:...` then `char:...`).
    pub fn feature_names(&self) -> Vec<String> {
        self.parts
            .iter()
            .flat_map(TfidfVectorizer::feature_names)
            .collect()
    }
}
