//! The featurizer part of the search inside a blueprint: which TF-IDF settings its text blocks
//! use, chosen on an inner cross-validation of a fit's own training rows (like the estimator's
//! hyperparameters, see [`blueprints::search`]), then used to fit the blueprint on all of them.
//!
//! Three settings compete: the blueprint's own, the same with character n-grams toggled (added
//! `char_wb` 2–5 when it has none, dropped when it has them), and the same with the word
//! analyzer's `min_df` toggled between 1 and 2. Each is scored with the blueprint's estimator at
//! its current values, without its own search (the cheaper stand-in), on the same inner folds.

use blueprints::search::{Trial, choose, stratified_folds};
use blueprints::text::{Analyzer, DocFreq, TfidfConfig};
use ndarray::Array2;

use crate::dataset::TargetRows;
use crate::features::FeatureInputs;
use crate::model::Candidate;
use crate::model::{BlockSpec, Model};

/// Inner folds of the text-settings search.
pub const INNER_FOLDS: usize = 3;

/// The TF-IDF settings tried for a text block whose settings are `analyzers` (those first).
pub fn text_variants(analyzers: &[TfidfConfig]) -> Vec<Vec<TfidfConfig>> {
    let mut out = vec![analyzers.to_vec()];
    let has_char = analyzers.iter().any(|a| a.analyzer == Analyzer::CharWb);
    let toggled_char: Vec<TfidfConfig> = if has_char {
        analyzers
            .iter()
            .filter(|a| a.analyzer != Analyzer::CharWb)
            .cloned()
            .collect()
    } else {
        let mut v = analyzers.to_vec();
        v.push(TfidfConfig::char_wb(2, 5));
        v
    };
    if !toggled_char.is_empty() {
        out.push(toggled_char);
    }
    let toggled_min_df: Vec<TfidfConfig> = analyzers
        .iter()
        .map(|a| {
            let mut a = a.clone();
            if a.analyzer == Analyzer::Word {
                a.min_df = match a.min_df {
                    DocFreq::Count(1) => DocFreq::Count(2),
                    _ => DocFreq::Count(1),
                };
            }
            a
        })
        .collect();
    if toggled_min_df != analyzers {
        out.push(toggled_min_df);
    }
    out
}

/// `blocks` with every text block's analyzers replaced by its `i`-th variant (blocks with fewer
/// variants keep their own settings).
fn with_variant(blocks: &[BlockSpec], i: usize) -> Vec<BlockSpec> {
    blocks
        .iter()
        .map(|b| match b {
            BlockSpec::Text { column, analyzers } => BlockSpec::Text {
                column: column.clone(),
                analyzers: text_variants(analyzers)
                    .into_iter()
                    .nth(i)
                    .unwrap_or_else(|| analyzers.clone()),
            },
            other => other.clone(),
        })
        .collect()
}

/// The blocks `c` should be fitted with on `train` rows: its own when it has no text block,
/// else the text settings ([`text_variants`]) with the best inner-CV balanced accuracy, or AUC
/// for two classes (ties to the lower log loss; [`blueprints::search::choose`]). Every row index refers to `inputs`; `labels` holds all rows' labels.
pub fn choose_text_blocks(
    c: &Candidate,
    inputs: &FeatureInputs,
    labels: &[u32],
    n_classes: usize,
    train: &[usize],
    seed: u64,
) -> anyhow::Result<Vec<BlockSpec>> {
    let n_variants = c
        .blocks
        .iter()
        .map(|b| match b {
            BlockSpec::Text { analyzers, .. } => text_variants(analyzers).len(),
            _ => 1,
        })
        .max()
        .unwrap_or(1);
    let y: Vec<u32> = train.iter().map(|&r| labels[r]).collect();
    let folds = stratified_folds(&y, n_classes, INNER_FOLDS, seed);
    if n_variants < 2 || folds.len() < 2 {
        return Ok(c.blocks.clone());
    }
    let classes: Vec<String> = (0..n_classes).map(|k| k.to_string()).collect();
    let trials: Vec<Trial> = (0..n_variants)
        .map(|v| {
            let blocks = with_variant(&c.blocks, v);
            // A setting that cannot be fitted (e.g. no term left at this `min_df`) loses.
            inner_oof(c, &blocks, inputs, &y, &classes, train, &folds, seed).map_or_else(
                |_| Trial::score(Vec::new(), &[], &Array2::zeros((0, n_classes)), folds.len()),
                |oof| Trial::score(Vec::new(), &y, &oof, folds.len()),
            )
        })
        .collect();
    let best = choose(&trials).unwrap_or(0);
    Ok(with_variant(&c.blocks, best))
}

/// Out-of-fold probabilities of `c`'s estimator (without its own search) on `blocks`, over the
/// inner `folds` (positions in `train`) of the rows `train`.
#[allow(clippy::too_many_arguments)]
fn inner_oof(
    c: &Candidate,
    blocks: &[BlockSpec],
    inputs: &FeatureInputs,
    y: &[u32],
    classes: &[String],
    train: &[usize],
    folds: &[Vec<usize>],
    seed: u64,
) -> anyhow::Result<Array2<f32>> {
    let mut oof = Array2::<f32>::zeros((train.len(), classes.len()));
    for (f, valid) in folds.iter().enumerate() {
        let in_valid = |i: &usize| valid.binary_search(i).is_ok();
        let inner_train: Vec<usize> = (0..train.len()).filter(|i| !in_valid(i)).collect();
        let rows_train: Vec<usize> = inner_train.iter().map(|&i| train[i]).collect();
        let rows_valid: Vec<usize> = valid.iter().map(|&i| train[i]).collect();
        let yt: Vec<u32> = inner_train.iter().map(|&i| y[i]).collect();
        let model = Model::fit(
            blocks,
            c.estimator.without_search(),
            inputs,
            &rows_train,
            &TargetRows::Classes(yt),
            classes,
            seed.wrapping_add(f as u64 + 1),
        )?;
        let p = model.predict_proba(inputs, &rows_valid)?;
        for (j, &i) in valid.iter().enumerate() {
            oof.row_mut(i).assign(&p.row(j));
        }
    }
    Ok(oof)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_toggle_char_ngrams_and_min_df() {
        let word = TfidfConfig::word(1, 2);
        let v = text_variants(std::slice::from_ref(&word));
        assert_eq!(v.len(), 3);
        assert_eq!(v[0], vec![word.clone()]);
        assert_eq!(v[1].len(), 2);
        assert_eq!(v[1][1].analyzer, Analyzer::CharWb);
        assert_eq!(v[2][0].min_df, DocFreq::Count(2));
        let both = vec![word.clone(), TfidfConfig::char_wb(2, 5)];
        let v = text_variants(&both);
        assert_eq!(v[1], vec![word]);
        assert_eq!(
            crate::model::describe_text_settings(&[BlockSpec::Text {
                column: "t".into(),
                analyzers: v[2].clone()
            }])
            .unwrap(),
            "word 1-2 min_df 2 + char 2-5"
        );
    }
}
