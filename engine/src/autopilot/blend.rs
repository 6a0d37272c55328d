//! Cross-validated blenders built from the out-of-fold predictions of the best models.

use ndarray::Array2;

use blueprints::FitContext;
use blueprints::blend::Blender;

use super::evaluate::CvResult;
use crate::dataset::{Target, TargetRows};
use crate::leaderboard::{Scores, score_all};
use crate::partition::Partition;

/// A blender's cross-validated result: per-fold scores, holdout scores, and the blender fitted
/// on all out-of-fold predictions (for scoring new data).
pub struct BlendResult {
    /// Scores of each fold's validation rows.
    pub fold_scores: Vec<Scores>,
    /// Holdout scores, when there is a holdout.
    pub holdout_scores: Option<Scores>,
    /// Blended out-of-fold probabilities (holdout rows zero).
    pub oof: Array2<f32>,
    /// The blender fitted on every CV row's out-of-fold predictions.
    pub blender: Box<dyn Blender>,
}

/// Evaluates `template` on the members' out-of-fold predictions: for each fold, the blender is
/// fitted on the other folds' out-of-fold rows and scored on this fold's rows, so no row is
/// scored by a blender that saw it.
pub fn cross_validate_blend(
    template: &dyn Blender,
    members: &[&CvResult],
    target: &Target,
    partition: &Partition,
    seed: u64,
) -> anyhow::Result<BlendResult> {
    let n = target.labels.len();
    let mut oof = Array2::<f32>::zeros((n, target.n_outputs()));
    let mut fold_scores = Vec::new();
    let ctx = FitContext::new(target.n_outputs(), seed);
    let fit = |b: &mut dyn Blender, preds: &[Array2<f32>], rows: &[usize]| {
        let views: Vec<_> = preds.iter().map(|a| a.view()).collect();
        match target.rows(rows) {
            TargetRows::Classes(y) => b.fit(&views, &y, &ctx),
            TargetRows::Values(y) => b.fit_regression(&views, &y, &ctx),
        }
    };
    for fold in 0..partition.k {
        let train = partition.train_rows(fold);
        let valid = partition.valid_rows(fold);
        let tr: Vec<Array2<f32>> = members
            .iter()
            .map(|m| m.oof.select(ndarray::Axis(0), &train))
            .collect();
        let va: Vec<Array2<f32>> = members
            .iter()
            .map(|m| m.oof.select(ndarray::Axis(0), &valid))
            .collect();
        let mut b = template.clone_box();
        fit(b.as_mut(), &tr, &train)?;
        let p = b.blend(&va.iter().map(|a| a.view()).collect::<Vec<_>>())?;
        for (i, &r) in valid.iter().enumerate() {
            oof.row_mut(r).assign(&p.row(i));
        }
        fold_scores.push(score_all(target.rows(&valid).truth(), p.view()));
    }
    let cv_rows = partition.cv_rows();
    let all: Vec<Array2<f32>> = members
        .iter()
        .map(|m| m.oof.select(ndarray::Axis(0), &cv_rows))
        .collect();
    let mut blender = template.clone_box();
    fit(blender.as_mut(), &all, &cv_rows)?;
    let holdout = partition.holdout_rows();
    let holdout_scores = if holdout.is_empty() {
        None
    } else {
        let hp: Vec<_> = members.iter().map(|m| m.holdout_proba.view()).collect();
        let p = blender.blend(&hp)?;
        Some(score_all(target.rows(holdout).truth(), p.view()))
    };
    Ok(BlendResult {
        fold_scores,
        holdout_scores,
        oof,
        blender,
    })
}
