//! One TF-IDF analyzer: fit a vocabulary and idf weights on training rows, transform any rows
//! into a sparse CSR matrix (scikit-learn `TfidfVectorizer` semantics).

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sprs::CsMat;

use super::analyze::{Scratch, for_each_term};
use super::config::{Analyzer, TfidfConfig};
use super::counting::{
    BlockCounts, CorpusCounts, NONE, count_blocks, merge_blocks, sort_terms, transform_block_size,
};
use super::vocabulary::Vocabulary;
use crate::error::{BlueprintError, Result};

/// What `fit` learns: the kept terms and their idf weights.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Fitted {
    vocabulary: Vocabulary,
    /// One weight per column (all 1 when `use_idf` is off).
    idf: Vec<f64>,
    /// Number of training documents (`None` rows included).
    n_train_docs: usize,
}

/// A TF-IDF vectorizer for one text column and one analyzer.
///
/// * `fit` on the training rows of a fold only; `transform` any rows (unknown terms are ignored).
/// * `None` or empty text gives an all-zero row, never an error.
/// * Columns are the kept terms sorted by code point; [`feature_names`](Self::feature_names) are
///   `"<prefix>:<term>"` with prefix `word` / `char` by default, e.g. `word:love`,
///   `word:love you`, `char: lo` (char_wb n-grams keep their padding spaces).
/// * Serializable, so a fitted vectorizer can be stored with its model.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TfidfVectorizer {
    config: TfidfConfig,
    fitted: Option<Fitted>,
}

/// Appends one row: `(column, count)` entries sorted by column become tf-idf weights,
/// L2-normalised when configured.
fn push_row(
    entries: &[(u32, u32)],
    idf: &[f64],
    config: &TfidfConfig,
    values: &mut Vec<f64>,
    indices: &mut Vec<usize>,
    data: &mut Vec<f32>,
) {
    values.clear();
    values.extend(entries.iter().map(|&(col, count)| {
        let tf = if config.sublinear_tf {
            1.0 + f64::from(count).ln()
        } else {
            f64::from(count)
        };
        tf * idf[col as usize]
    }));
    let scale = if config.l2_norm {
        let norm = values.iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm > 0.0 { 1.0 / norm } else { 1.0 }
    } else {
        1.0
    };
    indices.extend(entries.iter().map(|&(c, _)| c as usize));
    data.extend(values.iter().map(|v| (v * scale) as f32));
}

/// One block of finished CSR rows.
struct RowBlock {
    row_nnz: Vec<usize>,
    indices: Vec<usize>,
    data: Vec<f32>,
}

/// Stacks row blocks (in order) into one CSR matrix.
fn assemble(blocks: Vec<RowBlock>, n_rows: usize, n_cols: usize) -> Result<CsMat<f32>> {
    let nnz: usize = blocks.iter().map(|b| b.indices.len()).sum();
    let mut indptr = Vec::with_capacity(n_rows + 1);
    let mut indices = Vec::with_capacity(nnz);
    let mut data = Vec::with_capacity(nnz);
    indptr.push(0);
    for b in blocks {
        for n in b.row_nnz {
            indptr.push(indptr[indptr.len() - 1] + n);
        }
        indices.extend(b.indices);
        data.extend(b.data);
    }
    CsMat::try_new((n_rows, n_cols), indptr, indices, data).map_err(|(_, _, _, e)| {
        BlueprintError::Numeric {
            task: "tfidf".into(),
            reason: e.to_string(),
        }
    })
}

impl TfidfVectorizer {
    /// An unfitted vectorizer; fails when a setting is out of its domain.
    pub fn new(config: TfidfConfig) -> Result<Self> {
        config.validate()?;
        Ok(Self {
            config,
            fitted: None,
        })
    }

    /// The settings.
    pub fn config(&self) -> &TfidfConfig {
        &self.config
    }

    /// Whether `fit` has run.
    pub fn is_fitted(&self) -> bool {
        self.fitted.is_some()
    }

    fn fitted(&self) -> Result<&Fitted> {
        self.fitted
            .as_ref()
            .ok_or_else(|| BlueprintError::NotFitted("TfidfVectorizer".into()))
    }

    /// Learns the vocabulary and idf from the training documents. `None` is an empty document: it
    /// counts in `n` for idf and proportional `min_df` / `max_df` (as `""` does in scikit-learn).
    /// Errors when no term survives (every document empty, or `min_df` / `max_df` too strict).
    pub fn fit<S: AsRef<str> + Sync>(&mut self, docs: &[Option<S>]) -> Result<()> {
        self.fit_counts(docs)?;
        Ok(())
    }

    /// `fit` then `transform` on the same documents, counting them only once.
    pub fn fit_transform<S: AsRef<str> + Sync>(
        &mut self,
        docs: &[Option<S>],
    ) -> Result<CsMat<f32>> {
        let (blocks, local_to_col) = self.fit_counts(docs)?;
        let fitted = self.fitted()?;
        let config = &self.config;
        let row_blocks: Vec<RowBlock> = blocks
            .par_iter()
            .zip(local_to_col.par_iter())
            .map(|(block, to_col)| {
                let mut out = RowBlock {
                    row_nnz: Vec::new(),
                    indices: Vec::new(),
                    data: Vec::new(),
                };
                let (mut entries, mut values) = (Vec::new(), Vec::new());
                for w in block.row_ptr.windows(2) {
                    entries.clear();
                    entries.extend(
                        block.pairs[w[0]..w[1]]
                            .iter()
                            .map(|&(local, count)| (to_col[local as usize], count))
                            .filter(|&(col, _)| col != NONE),
                    );
                    entries.sort_unstable_by_key(|&(col, _)| col);
                    push_row(
                        &entries,
                        &fitted.idf,
                        config,
                        &mut values,
                        &mut out.indices,
                        &mut out.data,
                    );
                    out.row_nnz.push(entries.len());
                }
                out
            })
            .collect();
        assemble(row_blocks, docs.len(), fitted.vocabulary.len())
    }

    /// Counts, prunes and stores the fit; returns the block counts and, per block, the map from
    /// block-local term id to output column (`NONE` when dropped) so `fit_transform` can reuse them.
    fn fit_counts<S: AsRef<str> + Sync>(
        &mut self,
        docs: &[Option<S>],
    ) -> Result<(Vec<BlockCounts>, Vec<Vec<u32>>)> {
        let config = &self.config;
        let mut blocks = count_blocks(config, docs);
        let mut counts = merge_blocks(&mut blocks);
        let n_docs = docs.len();
        let kept = select_terms(config, &counts, n_docs)?;
        let mut global_to_col = vec![NONE; counts.terms.len()];
        let mut terms = Vec::with_capacity(kept.len());
        let mut index = rustc_hash::FxHashMap::default();
        index.reserve(kept.len());
        let mut idf = Vec::with_capacity(kept.len());
        let smooth = f64::from(u8::from(config.smooth_idf));
        for (col, &g) in kept.iter().enumerate() {
            let g = g as usize;
            global_to_col[g] = col as u32;
            let term = std::mem::take(&mut counts.terms[g]);
            terms.push(term.to_string());
            index.insert(term, col as u32);
            idf.push(if config.use_idf {
                ((n_docs as f64 + smooth) / (f64::from(counts.doc_freq[g]) + smooth)).ln() + 1.0
            } else {
                1.0
            });
        }
        let local_to_col = counts
            .local_to_global
            .iter()
            .map(|m| m.iter().map(|&g| global_to_col[g as usize]).collect())
            .collect();
        self.fitted = Some(Fitted {
            vocabulary: Vocabulary::from_sorted(terms, index),
            idf,
            n_train_docs: n_docs,
        });
        Ok((blocks, local_to_col))
    }

    /// TF-IDF rows for `docs` with the fitted vocabulary: CSR, `docs.len() × n_features()`,
    /// column indices sorted within each row. Terms not in the vocabulary are ignored.
    pub fn transform<S: AsRef<str> + Sync>(&self, docs: &[Option<S>]) -> Result<CsMat<f32>> {
        let fitted = self.fitted()?;
        let config = &self.config;
        let vocab = &fitted.vocabulary;
        let row_blocks: Vec<RowBlock> = docs
            .par_chunks(transform_block_size(docs.len()))
            .map(|chunk| {
                let mut out = RowBlock {
                    row_nnz: Vec::new(),
                    indices: Vec::new(),
                    data: Vec::new(),
                };
                let mut counts = vec![0u32; vocab.len()];
                let (mut touched, mut entries, mut values) = (Vec::new(), Vec::new(), Vec::new());
                let mut scratch = Scratch::default();
                for doc in chunk {
                    if let Some(text) = doc {
                        for_each_term(config, text.as_ref(), &mut scratch, |term| {
                            if let Some(col) = vocab.column_u32(term) {
                                let c = &mut counts[col as usize];
                                if *c == 0 {
                                    touched.push(col);
                                }
                                *c += 1;
                            }
                        });
                    }
                    touched.sort_unstable();
                    entries.clear();
                    entries.extend(
                        touched
                            .iter()
                            .map(|&col| (col, std::mem::take(&mut counts[col as usize]))),
                    );
                    touched.clear();
                    push_row(
                        &entries,
                        &fitted.idf,
                        config,
                        &mut values,
                        &mut out.indices,
                        &mut out.data,
                    );
                    out.row_nnz.push(entries.len());
                }
                out
            })
            .collect();
        assemble(row_blocks, docs.len(), vocab.len())
    }

    /// Number of output columns (0 before `fit`).
    pub fn n_features(&self) -> usize {
        self.fitted.as_ref().map_or(0, |f| f.vocabulary.len())
    }

    /// The fitted vocabulary (terms in column order), if fitted.
    pub fn vocabulary(&self) -> Option<&Vocabulary> {
        self.fitted.as_ref().map(|f| &f.vocabulary)
    }

    /// The idf weight of every column, if fitted.
    pub fn idf(&self) -> Option<&[f64]> {
        self.fitted.as_ref().map(|f| f.idf.as_slice())
    }

    /// Number of documents the vectorizer was fitted on, if fitted.
    pub fn n_train_docs(&self) -> Option<usize> {
        self.fitted.as_ref().map(|f| f.n_train_docs)
    }

    /// `"<prefix>:<term>"` for every column (empty before `fit`), e.g. `word:love you`, `char: lo`.
    pub fn feature_names(&self) -> Vec<String> {
        let prefix = self.config.prefix();
        self.vocabulary().map_or_else(Vec::new, |v| {
            v.terms().iter().map(|t| format!("{prefix}:{t}")).collect()
        })
    }
}

/// Applies `min_df`, `max_df` and `max_features` like scikit-learn's `_limit_features`; returns
/// the global ids of the kept terms sorted by term (so position = output column).
fn select_terms(config: &TfidfConfig, counts: &CorpusCounts, n_docs: usize) -> Result<Vec<u32>> {
    if counts.terms.is_empty() {
        let why = match config.analyzer {
            Analyzer::Word => "all empty, only stop words, or no word of two letters or more",
            Analyzer::CharWb => "all empty",
        };
        return Err(BlueprintError::EmptyVocabulary(format!(
            "the '{}' analyzer found no term in the training documents ({why})",
            config.prefix()
        )));
    }
    let high = config.max_df.to_docs(n_docs);
    let low = config.min_df.to_docs(n_docs);
    if high < low {
        return Err(BlueprintError::InvalidParam {
            name: "max_df".into(),
            value: format!("{:?}", config.max_df),
            reason: format!("max_df corresponds to fewer documents ({high}) than min_df ({low})"),
        });
    }
    let mut kept: Vec<u32> = (0..counts.terms.len() as u32)
        .filter(|&g| {
            let df = f64::from(counts.doc_freq[g as usize]);
            df <= high && df >= low
        })
        .collect();
    if let Some(limit) = config.max_features
        && kept.len() > limit
    {
        // Most frequent first; equal counts keep the smaller term.
        let (tf, terms) = (&counts.term_freq, &counts.terms);
        kept.sort_unstable_by(|&a, &b| {
            tf[b as usize]
                .cmp(&tf[a as usize])
                .then_with(|| terms[a as usize].cmp(&terms[b as usize]))
        });
        kept.truncate(limit);
    }
    if kept.is_empty() {
        return Err(BlueprintError::InvalidInput(
            "after pruning, no terms remain: try a lower min_df or a higher max_df".into(),
        ));
    }
    sort_terms(&mut kept, &counts.terms);
    Ok(kept)
}
