//! The estimator trait every model blueprint implements.

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use crate::error::{BlueprintError, Result};
use crate::features::Features;
use crate::params::{ParamSpec, SearchDim, TargetKind};

/// What a fit needs besides the data.
#[derive(Debug, Clone)]
pub struct FitContext {
    /// Number of classes; labels are `0..n_classes`. A class may be absent from a training fold.
    pub n_classes: usize,
    /// Seed for every random choice the estimator makes: same seed, same model.
    pub seed: u64,
    /// Optional per-row weights (same length as the labels).
    pub sample_weight: Option<Vec<f32>>,
}

impl FitContext {
    /// A context with no sample weights.
    pub fn new(n_classes: usize, seed: u64) -> Self {
        Self {
            n_classes,
            seed,
            sample_weight: None,
        }
    }
}

/// A model's fitted state: empty before `fit`. Serializes exactly as the `Option<T>` it wraps
/// (`null` when empty), so saved models read back unchanged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Fitted<T>(Option<T>);

impl<T> Default for Fitted<T> {
    fn default() -> Self {
        Self(None)
    }
}

impl<T> From<T> for Fitted<T> {
    fn from(state: T) -> Self {
        Self(Some(state))
    }
}

impl<T> Fitted<T> {
    /// The state, or [`BlueprintError::NotFitted`] naming `task`.
    pub fn get(&self, task: &str) -> Result<&T> {
        self.0
            .as_ref()
            .ok_or_else(|| BlueprintError::NotFitted(task.into()))
    }

    /// The state, if fitted.
    pub fn as_option(&self) -> Option<&T> {
        self.0.as_ref()
    }

    /// Forgets the state (at the start of a new fit).
    pub fn clear(&mut self) {
        self.0 = None;
    }
}

/// A classifier: typed hyperparameters, `fit`, `predict_proba`, serializable with serde
/// (`Box<dyn Estimator>` round-trips through `typetag`).
#[typetag::serde(tag = "estimator")]
pub trait Estimator: Send + Sync + std::fmt::Debug {
    /// Short readable name, e.g. "Logistic Regression".
    fn name(&self) -> String;
    /// Every tunable hyperparameter with its current value and domain.
    fn params(&self) -> Vec<ParamSpec>;
    /// Sets one hyperparameter by name; refuses unknown names and out-of-domain values.
    fn set_param(&mut self, name: &str, value: &str) -> Result<()>;
    /// Fits on `x` (rows = samples) with labels `y` in `0..ctx.n_classes`.
    fn fit(&mut self, x: &Features, y: &[u32], ctx: &FitContext) -> Result<()>;
    /// Class probabilities, `rows × n_classes`, each row summing to 1; for a model fitted with
    /// [`Estimator::fit_regression`], one column: the predicted value.
    fn predict_proba(&self, x: &Features) -> Result<Array2<f32>>;
    /// Fits a regressor on `x` with one finite real target per row (`ctx.n_classes` is 1 and
    /// ignored). Afterwards [`Estimator::predict_proba`] returns one column, the predicted value.
    /// Estimators that only classify refuse with [`BlueprintError::Unsupported`].
    fn fit_regression(&mut self, x: &Features, y: &[f32], ctx: &FitContext) -> Result<()> {
        let _ = (x, y, ctx);
        Err(BlueprintError::Unsupported(format!(
            "{} does not do regression",
            self.name()
        )))
    }
    /// True when [`Estimator::fit_regression`] is implemented.
    fn supports_regression(&self) -> bool {
        false
    }
    /// A boxed copy (for retraining the same blueprint on other folds).
    fn clone_box(&self) -> Box<dyn Estimator>;
    /// For differentiable models: the gradient of class `class`'s centred logit
    /// (`log p_class − mean_k log p_k`, the softmax logit with its free shift removed) with
    /// respect to the dense columns of the single row `x`. `None` for models that are not
    /// differentiable (trees, k-NN, naive Bayes): Grad-CAM needs this, occlusion does not.
    fn dense_logit_gradient(&self, x: &Features, class: usize) -> Result<Option<Vec<f32>>> {
        let _ = (x, class);
        Ok(None)
    }
    /// For a model that runs convolutions over image maps itself (the fine-tuned CNN): the
    /// Grad-CAM map (`height × width`, before ReLU) of class `class` for the single row `x`,
    /// taken at its last convolution. `None` for the others (their Grad-CAM goes through
    /// [`Estimator::dense_logit_gradient`]).
    fn class_activation_map(&self, x: &Features, class: usize) -> Result<Option<Array2<f32>>> {
        let _ = (x, class);
        Ok(None)
    }
    /// The hyperparameters worth searching inside autopilot on a target of kind `kind`, and a
    /// few candidate values of each (the default among them, unless the default does not suit
    /// that kind: the search then starts from the first value); the names are the same for
    /// either kind. Empty when there is nothing to search ([`crate::search::Searched`] uses it).
    fn search_space(&self, kind: TargetKind) -> Vec<SearchDim> {
        let _ = kind;
        Vec::new()
    }
    /// Fits one copy of this estimator for each of `values` of hyperparameter `name`, in order,
    /// each warm-started from the previous fit (a regularization path); `None` when the
    /// estimator has no cheaper way than separate fits.
    fn fit_path(
        &self,
        x: &Features,
        y: &[u32],
        ctx: &FitContext,
        name: &str,
        values: &[String],
    ) -> Option<Result<Vec<Box<dyn Estimator>>>> {
        let _ = (x, y, ctx, name, values);
        None
    }
    /// [`Estimator::fit_path`] for a regression fit ([`Estimator::fit_regression`]): one fitted
    /// copy per value of `name`, warm-started; `None` when there is no cheaper way.
    fn fit_regression_path(
        &self,
        x: &Features,
        y: &[f32],
        ctx: &FitContext,
        name: &str,
        values: &[String],
    ) -> Option<Result<Vec<Box<dyn Estimator>>>> {
        let _ = (x, y, ctx, name, values);
        None
    }
    /// This estimator without a search inside its fit (a copy of itself for plain estimators):
    /// the cheaper stand-in with which a featurizer search compares feature settings.
    fn without_search(&self) -> Box<dyn Estimator> {
        self.clone_box()
    }
    /// The copy an inner hyperparameter search fits to score a configuration (a copy of itself;
    /// an ensemble of bagged members scores one member, and the chosen values are then fitted
    /// with every bag).
    fn for_inner_fit(&self) -> Box<dyn Estimator> {
        self.clone_box()
    }
    /// The hyperparameters a search inside `fit` will choose (their values are only starting
    /// points; empty for plain estimators). Setting one fixes it.
    fn searched_names(&self) -> Vec<String> {
        Vec::new()
    }
    /// The value each searched hyperparameter (but a path, walked whole) starts from on a
    /// target of kind `kind`: the current one, or the search space's first where the current one
    /// does not suit the kind. Empty for plain estimators.
    fn search_starts(&self, kind: TargetKind) -> Vec<(String, String)> {
        let _ = kind;
        Vec::new()
    }
    /// The hyperparameter values a search inside `fit` chose (empty for plain estimators).
    fn searched_params(&self) -> Vec<(String, String)> {
        Vec::new()
    }
    /// For an estimator that reads one image feature level of its own choosing (the fine-tuned
    /// CNN's trunk maps, set by its parameters): that level's name, which its image block must
    /// produce. `None` for the others.
    fn image_level(&self) -> Option<String> {
        None
    }
    /// For an estimator that carries pretrained image weights (the fine-tuned CNN): use those
    /// of `backbone`, the backbone of its image block. Others ignore it.
    fn set_image_backbone(&mut self, backbone: &str) -> Result<()> {
        let _ = backbone;
        Ok(())
    }
    /// Seconds a fit on `n_rows` rows of `n_classes` classes may take, measured up front by
    /// estimators slow enough for it to matter (the fine-tuned CNN); `None` for the others.
    fn estimate_fit_seconds(&self, n_rows: usize, n_classes: usize) -> Option<f64> {
        let _ = (n_rows, n_classes);
        None
    }
}

impl Clone for Box<dyn Estimator> {
    fn clone(&self) -> Self {
        self.clone_box()
    }
}

/// Central finite differences of class `class`'s centred logit (`log p_class − mean_k log p_k`
/// over the classes with non-zero probability) with respect to the dense columns of the single
/// row `x`, with step `h`: the reference [`Estimator::dense_logit_gradient`] is checked against.
pub fn finite_difference_logit_gradient(
    estimator: &dyn Estimator,
    x: &Features,
    class: usize,
    h: f32,
) -> Result<Vec<f32>> {
    let d = x.n_dense();
    let mut probe = x.select_rows(&vec![0; 2 * d]);
    if let Some(rows) = probe.dense.as_mut() {
        for j in 0..d {
            rows[[2 * j, j]] += h;
            rows[[2 * j + 1, j]] -= h;
        }
    }
    let p = estimator.predict_proba(&probe)?;
    let centred = |i: usize| -> f64 {
        let row = p.row(i);
        let logs: Vec<f64> = row
            .iter()
            .filter(|&&v| v > 0.0)
            .map(|&v| f64::from(v).ln())
            .collect();
        f64::from(row[class]).ln() - logs.iter().sum::<f64>() / logs.len() as f64
    };
    Ok((0..d)
        .map(|j| ((centred(2 * j) - centred(2 * j + 1)) / (2.0 * f64::from(h))) as f32)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fitted_serializes_as_an_option() {
        let empty: Fitted<u32> = Fitted::default();
        assert_eq!(serde_json::to_string(&empty).unwrap(), "null");
        assert_eq!(serde_json::to_string(&Fitted::from(3u32)).unwrap(), "3");
        let back: Fitted<u32> = serde_json::from_str("3").unwrap();
        assert_eq!(back.get("x").unwrap(), &3);
        assert_eq!(
            empty.get("Toy").unwrap_err().to_string(),
            "Toy is not fitted"
        );
    }

    /// Unfitted estimators serialize as before the typed parameters: choices as their names,
    /// the fitted state as `null`.
    #[test]
    fn saved_json_keeps_its_form() {
        let json = |e: Box<dyn Estimator>| serde_json::to_string(&e).unwrap();
        let gbdt = json(Box::<crate::tree::GradientBoosting>::default());
        assert!(gbdt.contains(r#""class_weight":"balanced""#), "{gbdt}");
        assert!(gbdt.ends_with(r#""fitted":null}"#), "{gbdt}");
        let rf = json(Box::<crate::tree::RandomForest>::default());
        assert!(rf.contains(r#""max_features":"sqrt""#), "{rf}");
        let knn = json(Box::<crate::knn::Knn>::default());
        assert!(
            knn.contains(r#""metric":"cosine","weights":"distance""#),
            "{knn}"
        );
        let lr = json(Box::<crate::linear::LogisticRegression>::default());
        assert!(
            lr.contains(r#""balanced":true"#) && lr.contains(r#""fitted":null"#),
            "{lr}"
        );
        let old = r#"{"estimator":"RandomForest","params":{"n_estimators":3,"extra_trees":false,
            "max_features":"half","max_depth":-1,"max_leaf_nodes":-1,"min_samples_leaf":1,
            "bootstrap":true,"max_samples":1.0,"class_weight":"none","max_bin":255},"fitted":null}"#;
        let back: Box<dyn Estimator> = serde_json::from_str(old).unwrap();
        let specs = back.params();
        assert_eq!(specs[2].value, "half");
        assert_eq!(specs[8].value, "none");
    }

    /// Classifiers refuse regression with `Unsupported`; regressors say they support it and a
    /// fitted regressor still predicts one column after a serde round trip.
    #[test]
    fn regression_support_is_declared_and_kept() {
        let x = Features::dense(ndarray::Array2::from_shape_fn((30, 2), |(i, j)| {
            (i as f32 * 0.7 + j as f32).sin()
        }));
        let y: Vec<f32> = (0..30).map(|i| (i as f32 * 0.3).cos() - 0.5).collect();
        let ctx = FitContext::new(1, 0);
        let classifiers: Vec<Box<dyn Estimator>> = vec![
            Box::<crate::linear::LogisticRegression>::default(),
            Box::<crate::naive_bayes::MultinomialNb>::default(),
            Box::<crate::naive_bayes::ComplementNb>::default(),
        ];
        for mut c in classifiers {
            assert!(!c.supports_regression(), "{}", c.name());
            assert!(matches!(
                c.fit_regression(&x, &y, &ctx),
                Err(BlueprintError::Unsupported(_))
            ));
        }
        let regressors: Vec<Box<dyn Estimator>> = vec![
            Box::<crate::linear::Ridge>::default(),
            Box::<crate::tree::GradientBoosting>::default(),
            Box::<crate::tree::RandomForest>::default(),
            Box::new(crate::tree::RandomForest::extra_trees()),
            Box::<crate::knn::Knn>::default(),
            Box::new(crate::search::Searched::new(
                Box::<crate::linear::Ridge>::default(),
                2,
                3,
            )),
        ];
        for mut r in regressors {
            assert!(r.supports_regression(), "{}", r.name());
            r.fit_regression(&x, &y, &ctx).unwrap();
            let p = r.predict_proba(&x).unwrap();
            assert_eq!(p.dim(), (30, 1), "{}", r.name());
            let back: Box<dyn Estimator> =
                serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
            assert_eq!(back.predict_proba(&x).unwrap(), p, "{}", r.name());
        }
    }
}
