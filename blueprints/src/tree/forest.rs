//! Random forest and extremely randomized trees on the histogram core: Gini splits (one gradient
//! channel per class) or, for regression, variance-reduction splits (one channel, the weighted
//! target); bootstrap rows, a feature sample per node, trees grown in parallel.

use ndarray::{Array2, Axis};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::binning::BinnedData;
use super::common::{check_predict_input, mix_seed};
use super::grower::{FeatureChoice, GrowParams, grow_tree};
use super::histogram::SplitRules;
use super::model::{RowView, Tree};
use crate::error::Result;
use crate::estimator::{Estimator, FitContext, Fitted};
use crate::features::Features;
use crate::fit_input::{ClassMap, ClassWeight, FitLabels, FitTargets};
use crate::params::{Param, ParamSpec, SearchDim, TargetKind, Tunable};
use crate::{choice_enum, field};

choice_enum! {
    /// How many features a node tries, out of the `n` usable ones.
    pub enum MaxFeatures {
        /// `floor(sqrt(n))`.
        Sqrt = "sqrt",
        /// `floor(log2(n))`.
        Log2 = "log2",
        /// `ceil(n / 3)`.
        Third = "third",
        /// `ceil(n / 2)`.
        Half = "half",
        /// All `n`.
        All = "all",
    }
}

/// Hyperparameters of [`RandomForest`] (names follow scikit-learn).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForestParams {
    /// Number of trees.
    pub n_estimators: usize,
    /// Extremely randomized trees: one random threshold per candidate feature and node.
    pub extra_trees: bool,
    /// Features tried per node: `sqrt`, `log2`, `third`, `half` or `all` of the features.
    pub max_features: MaxFeatures,
    /// Deepest split level; -1 = unlimited.
    pub max_depth: i64,
    /// Most leaves per tree; -1 = unlimited.
    pub max_leaf_nodes: i64,
    /// Fewest training rows in a leaf.
    pub min_samples_leaf: usize,
    /// Draw each tree's rows with replacement.
    pub bootstrap: bool,
    /// Rows drawn per tree, as a fraction of the training rows.
    pub max_samples: f64,
    /// `balanced` reweights classes to equal total weight; `none` keeps row weights.
    pub class_weight: ClassWeight,
    /// Most bins per feature.
    pub max_bin: usize,
}

impl Default for ForestParams {
    fn default() -> Self {
        Self {
            n_estimators: 200,
            extra_trees: false,
            max_features: MaxFeatures::Sqrt,
            max_depth: -1,
            max_leaf_nodes: -1,
            min_samples_leaf: 1,
            bootstrap: true,
            max_samples: 1.0,
            class_weight: ClassWeight::Balanced,
            max_bin: 255,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct FittedForest {
    classes: ClassMap,
    n_dense: usize,
    n_sparse: usize,
    /// Trees whose leaves hold class distributions over the present classes (or, for a
    /// regressor, the weighted mean target of the leaf's rows).
    trees: Vec<Tree>,
    /// Fitted by `fit_regression`: one output, the predicted value (`classes` is one class).
    #[serde(default)]
    regression: bool,
}

/// A random forest (or, with `extra_trees`, extremely randomized trees) classifier.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RandomForest {
    /// Hyperparameters.
    pub params: ForestParams,
    fitted: Fitted<FittedForest>,
}

impl RandomForest {
    /// An unfitted forest with these hyperparameters.
    pub fn new(params: ForestParams) -> Self {
        Self {
            params,
            fitted: Fitted::default(),
        }
    }

    /// Extremely randomized trees with scikit-learn's defaults (no bootstrap).
    pub fn extra_trees() -> Self {
        Self::new(ForestParams {
            extra_trees: true,
            bootstrap: false,
            ..ForestParams::default()
        })
    }

    /// The fitted trees (empty before fit).
    pub fn trees(&self) -> &[Tree] {
        self.fitted.as_option().map_or(&[], |f| &f.trees)
    }

    fn task(&self) -> &'static str {
        if self.params.extra_trees {
            "Extra Trees"
        } else {
            "Random Forest"
        }
    }

    fn features_per_node(&self, n: usize) -> usize {
        let nf = n as f64;
        let k = match self.params.max_features {
            MaxFeatures::Sqrt => nf.sqrt().floor(),
            MaxFeatures::Log2 => nf.log2().floor(),
            MaxFeatures::Third => (nf / 3.0).ceil(),
            MaxFeatures::Half => (nf / 2.0).ceil(),
            MaxFeatures::All => nf,
        };
        (k as usize).clamp(1, n.max(1))
    }

    /// Rows of tree `t` and how often each was drawn (ascending).
    fn draw_rows(&self, n: usize, rng: &mut ChaCha8Rng) -> (Vec<u32>, Vec<f64>) {
        let m = ((self.params.max_samples * n as f64).round() as usize).clamp(1, n);
        let mut count = vec![0u32; n];
        if self.params.bootstrap {
            for _ in 0..m {
                count[rng.random_range(0..n)] += 1;
            }
        } else if m < n {
            for i in rand::seq::index::sample(rng, n, m) {
                count[i] = 1;
            }
        } else {
            count.fill(1);
        }
        let rows: Vec<u32> = (0..n as u32).filter(|&r| count[r as usize] > 0).collect();
        let mult = count.iter().map(|&c| c as f64).collect();
        (rows, mult)
    }
}

impl Tunable for RandomForest {
    fn param_table() -> Vec<Param<Self>> {
        vec![
            Param::int(
                "n_estimators",
                1..=5000,
                field!(params.n_estimators),
                "number of trees",
            ),
            Param::bool(
                "extra_trees",
                field!(params.extra_trees),
                "one random threshold per feature and node",
            ),
            Param::choice(
                "max_features",
                field!(params.max_features),
                "features tried per node",
            ),
            Param::int(
                "max_depth",
                -1..=256,
                field!(params.max_depth),
                "deepest split level; -1 = unlimited",
            ),
            Param::int(
                "max_leaf_nodes",
                -1..=1_000_000,
                field!(params.max_leaf_nodes),
                "most leaves per tree; -1 = unlimited",
            ),
            Param::int(
                "min_samples_leaf",
                1..=100_000,
                field!(params.min_samples_leaf),
                "fewest rows in a leaf",
            ),
            Param::bool(
                "bootstrap",
                field!(params.bootstrap),
                "draw rows with replacement for each tree",
            ),
            Param::float(
                "max_samples",
                0.05..=1.0,
                field!(params.max_samples),
                "rows drawn per tree, as a fraction",
            ),
            ClassWeight::param(field!(params.class_weight)),
            Param::int(
                "max_bin",
                4..=255,
                field!(params.max_bin),
                "most histogram bins per feature",
            ),
        ]
    }
}

impl RandomForest {
    /// Grows the forest on `k` gradient channels: `fill(row, weight, gh)` writes a drawn row's
    /// `k` gradients and hessian (`weight` includes how often the row was drawn), and
    /// `leaf(totals)` turns a leaf's totals (`k` gradient sums, hessian, count) into its values.
    #[allow(clippy::too_many_arguments)]
    fn grow_forest(
        &self,
        x: &Features,
        weights: &[f64],
        k: usize,
        seed: u64,
        fill: impl Fn(usize, f64, &mut [f64]) + Sync,
        leaf: impl Fn(&[f64]) -> Vec<f32> + Sync,
    ) -> Vec<Tree> {
        let n = weights.len();
        let all: Vec<usize> = (0..n).collect();
        let data = BinnedData::build(x, &all, self.params.max_bin, seed);
        let pool: Vec<usize> = (0..data.n_features())
            .filter(|&f| data.mappers[f].n_bins() > 1)
            .collect();
        let per_node = self.features_per_node(pool.len());
        let p = &self.params;
        (0..p.n_estimators)
            .into_par_iter()
            .map(|t| {
                let seed = mix_seed(seed, t as u64);
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                let (rows, mult) = self.draw_rows(n, &mut rng);
                let mut gh = vec![0.0f64; n * (k + 1)];
                let mut total = 0.0;
                for &r in &rows {
                    let r = r as usize;
                    let w = weights[r] * mult[r];
                    fill(r, w, &mut gh[r * (k + 1)..(r + 1) * (k + 1)]);
                    total += w;
                }
                let gp = GrowParams {
                    rules: SplitRules {
                        k,
                        min_child_samples: p.min_samples_leaf,
                        min_child_weight: 1e-12 * total,
                        lambda: 0.0,
                    },
                    max_leaves: usize::try_from(p.max_leaf_nodes)
                        .unwrap_or(usize::MAX)
                        .max(1),
                    max_depth: usize::try_from(p.max_depth).ok(),
                    min_split_gain: 1e-10 * total,
                    extra_trees: p.extra_trees,
                    features: FeatureChoice::PerNode {
                        pool: pool.clone(),
                        k: per_node,
                    },
                    seed: mix_seed(seed, 1),
                    parallel: false,
                };
                let grown = grow_tree(&data, &gh, &rows, &gp);
                let leaf_values = grown.leaf_totals.iter().flat_map(|t| leaf(t)).collect();
                Tree {
                    nodes: grown.nodes,
                    leaf_values,
                    n_outputs: k,
                }
            })
            .collect()
    }

    fn store(&mut self, x: &Features, classes: ClassMap, trees: Vec<Tree>, regression: bool) {
        self.fitted = FittedForest {
            classes,
            n_dense: x.n_dense(),
            n_sparse: x.n_sparse(),
            trees,
            regression,
        }
        .into();
    }
}

#[typetag::serde]
impl Estimator for RandomForest {
    fn name(&self) -> String {
        self.task().into()
    }

    fn params(&self) -> Vec<ParamSpec> {
        self.param_specs()
    }

    fn set_param(&mut self, name: &str, value: &str) -> Result<()> {
        self.set_by_name(self.task(), name, value)
    }

    fn fit(&mut self, x: &Features, y: &[u32], ctx: &FitContext) -> Result<()> {
        let FitLabels {
            classes,
            y: yc,
            weights,
        } = FitLabels::new(x, y, ctx, self.params.class_weight)?;
        self.fitted.clear();
        let k = classes.n_present();
        let trees = self.grow_forest(
            x,
            &weights,
            k,
            ctx.seed,
            |r, w, gh| {
                gh[yc[r] as usize] = w;
                gh[k] = w;
            },
            |t| {
                let h = t[k];
                t[..k]
                    .iter()
                    .map(|g| {
                        if h > 0.0 {
                            (g / h) as f32
                        } else {
                            1.0 / k as f32
                        }
                    })
                    .collect()
            },
        );
        self.store(x, classes, trees, false);
        Ok(())
    }

    /// Grows the trees on the target standardised to mean 0 and deviation 1 (so split gains and
    /// their tolerances are scale-free); each leaf holds its rows' weighted mean target.
    fn fit_regression(&mut self, x: &Features, y: &[f32], ctx: &FitContext) -> Result<()> {
        let FitTargets { y, weights } = FitTargets::new(x, y, ctx)?;
        self.fitted.clear();
        let total: f64 = weights.iter().sum();
        let mean = y.iter().zip(&weights).map(|(v, w)| v * w).sum::<f64>() / total;
        let var = y
            .iter()
            .zip(&weights)
            .map(|(v, w)| w * (v - mean).powi(2))
            .sum::<f64>()
            / total;
        let sd = if var > 0.0 { var.sqrt() } else { 1.0 };
        let z: Vec<f64> = y.iter().map(|v| (v - mean) / sd).collect();
        let trees = self.grow_forest(
            x,
            &weights,
            1,
            ctx.seed,
            |r, w, gh| {
                gh[0] = w * z[r];
                gh[1] = w;
            },
            |t| {
                let leaf = if t[1] > 0.0 { t[0] / t[1] } else { 0.0 };
                vec![(mean + sd * leaf) as f32]
            },
        );
        let one = ClassMap {
            n_classes: 1,
            present: vec![0],
        };
        self.store(x, one, trees, true);
        Ok(())
    }

    fn supports_regression(&self) -> bool {
        true
    }

    fn predict_proba(&self, x: &Features) -> Result<Array2<f32>> {
        let f = self.fitted.get(self.task())?;
        check_predict_input(x, f.n_dense, f.n_sparse, self.task())?;
        let k = f.classes.n_present();
        let mut probs = Array2::<f64>::zeros((x.n_rows(), k));
        let scale = 1.0 / f.trees.len().max(1) as f64;
        probs
            .axis_iter_mut(Axis(0))
            .into_par_iter()
            .enumerate()
            .for_each(|(r, mut out)| {
                let view = RowView::new(x, r);
                for t in &f.trees {
                    let leaf = t.leaf(t.leaf_index(|j| view.get(j)));
                    out.iter_mut()
                        .zip(leaf)
                        .for_each(|(o, &v)| *o += v as f64 * scale);
                }
            });
        if f.regression {
            return Ok(probs.mapv(|v| v as f32));
        }
        Ok(f.classes.expand(probs.view()))
    }

    fn search_space(&self, _kind: TargetKind) -> Vec<SearchDim> {
        vec![
            SearchDim::new("max_features", &["sqrt", "third", "log2", "half"], false),
            SearchDim::new("min_samples_leaf", &["1", "3", "5"], false),
        ]
    }

    fn clone_box(&self) -> Box<dyn Estimator> {
        Box::new(self.clone())
    }
}
