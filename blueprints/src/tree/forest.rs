//! Random forest and extremely randomized trees on the histogram core: Gini splits (one gradient
//! channel per class), bootstrap rows, a feature sample per node, trees grown in parallel.

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
use crate::error::{BlueprintError, Result};
use crate::estimator::{Estimator, FitContext};
use crate::features::Features;
use crate::fit_input::{ClassMap, check_fit_input, row_weights};
use crate::params::{
    ParamDomain, ParamSpec, SearchDim, parse_bool, parse_choice, parse_float, parse_int,
    unknown_param,
};

const MAX_FEATURES: [&str; 5] = ["sqrt", "log2", "third", "half", "all"];

/// Hyperparameters of [`RandomForest`] (names follow scikit-learn).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForestParams {
    /// Number of trees.
    pub n_estimators: usize,
    /// Extremely randomized trees: one random threshold per candidate feature and node.
    pub extra_trees: bool,
    /// Features tried per node: `sqrt`, `log2`, `third`, `half` or `all` of the features.
    pub max_features: String,
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
    pub class_weight: String,
    /// Most bins per feature.
    pub max_bin: usize,
}

impl Default for ForestParams {
    fn default() -> Self {
        Self {
            n_estimators: 200,
            extra_trees: false,
            max_features: "sqrt".into(),
            max_depth: -1,
            max_leaf_nodes: -1,
            min_samples_leaf: 1,
            bootstrap: true,
            max_samples: 1.0,
            class_weight: "balanced".into(),
            max_bin: 255,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct FittedForest {
    classes: ClassMap,
    n_dense: usize,
    n_sparse: usize,
    /// Trees whose leaves hold class distributions over the present classes.
    trees: Vec<Tree>,
}

/// A random forest (or, with `extra_trees`, extremely randomized trees) classifier.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RandomForest {
    /// Hyperparameters.
    pub params: ForestParams,
    fitted: Option<FittedForest>,
}

impl Default for RandomForest {
    fn default() -> Self {
        Self::new(ForestParams::default())
    }
}

impl RandomForest {
    /// An unfitted forest with these hyperparameters.
    pub fn new(params: ForestParams) -> Self {
        Self {
            params,
            fitted: None,
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
        self.fitted.as_ref().map_or(&[], |f| &f.trees)
    }

    fn task(&self) -> &'static str {
        if self.params.extra_trees {
            "Extra Trees"
        } else {
            "Random Forest"
        }
    }

    fn specs(&self) -> Vec<ParamSpec> {
        let p = &self.params;
        let i = |min: i64, max: i64| ParamDomain::Int { min, max };
        let choice = |c: &[&str]| ParamDomain::Choice(c.iter().map(|s| s.to_string()).collect());
        vec![
            ParamSpec::new(
                "n_estimators",
                p.n_estimators,
                i(1, 5000),
                "number of trees",
            ),
            ParamSpec::new(
                "extra_trees",
                p.extra_trees,
                ParamDomain::Bool,
                "one random threshold per feature and node",
            ),
            ParamSpec::new(
                "max_features",
                &p.max_features,
                choice(&MAX_FEATURES),
                "features tried per node",
            ),
            ParamSpec::new(
                "max_depth",
                p.max_depth,
                i(-1, 256),
                "deepest split level; -1 = unlimited",
            ),
            ParamSpec::new(
                "max_leaf_nodes",
                p.max_leaf_nodes,
                i(-1, 1_000_000),
                "most leaves per tree; -1 = unlimited",
            ),
            ParamSpec::new(
                "min_samples_leaf",
                p.min_samples_leaf,
                i(1, 100_000),
                "fewest rows in a leaf",
            ),
            ParamSpec::new(
                "bootstrap",
                p.bootstrap,
                ParamDomain::Bool,
                "draw rows with replacement for each tree",
            ),
            ParamSpec::new(
                "max_samples",
                p.max_samples,
                ParamDomain::Float {
                    min: 0.05,
                    max: 1.0,
                    log: false,
                },
                "rows drawn per tree, as a fraction",
            ),
            ParamSpec::new(
                "class_weight",
                &p.class_weight,
                choice(&["none", "balanced"]),
                "balanced gives every class the same total weight",
            ),
            ParamSpec::new(
                "max_bin",
                p.max_bin,
                i(4, 255),
                "most histogram bins per feature",
            ),
        ]
    }

    fn fitted(&self) -> Result<&FittedForest> {
        self.fitted
            .as_ref()
            .ok_or_else(|| BlueprintError::NotFitted(self.task().into()))
    }

    fn features_per_node(&self, n: usize) -> usize {
        let nf = n as f64;
        let k = match self.params.max_features.as_str() {
            "sqrt" => nf.sqrt().floor(),
            "log2" => nf.log2().floor(),
            "third" => (nf / 3.0).ceil(),
            "half" => (nf / 2.0).ceil(),
            _ => nf,
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

#[typetag::serde]
impl Estimator for RandomForest {
    fn name(&self) -> String {
        self.task().into()
    }

    fn params(&self) -> Vec<ParamSpec> {
        self.specs()
    }

    fn set_param(&mut self, name: &str, value: &str) -> Result<()> {
        let p = &mut self.params;
        let int = |min, max| parse_int(name, value, min, max);
        match name {
            "n_estimators" => p.n_estimators = int(1, 5000)? as usize,
            "extra_trees" => p.extra_trees = parse_bool(name, value)?,
            "max_features" => p.max_features = parse_choice(name, value, &MAX_FEATURES)?,
            "max_depth" => p.max_depth = int(-1, 256)?,
            "max_leaf_nodes" => p.max_leaf_nodes = int(-1, 1_000_000)?,
            "min_samples_leaf" => p.min_samples_leaf = int(1, 100_000)? as usize,
            "bootstrap" => p.bootstrap = parse_bool(name, value)?,
            "max_samples" => p.max_samples = parse_float(name, value, 0.05, 1.0)?,
            "class_weight" => p.class_weight = parse_choice(name, value, &["none", "balanced"])?,
            "max_bin" => p.max_bin = int(4, 255)? as usize,
            _ => return Err(unknown_param(self.task(), name, &self.specs())),
        }
        Ok(())
    }

    fn fit(&mut self, x: &Features, y: &[u32], ctx: &FitContext) -> Result<()> {
        check_fit_input(x, y, ctx)?;
        self.fitted = None;
        let classes = ClassMap::from_labels(y, ctx.n_classes);
        let k = classes.n_present();
        let yc = classes.compact(y);
        let weights = row_weights(
            &yc,
            k,
            ctx.sample_weight.as_deref(),
            self.params.class_weight == "balanced",
        );
        let n = yc.len();
        let all: Vec<usize> = (0..n).collect();
        let data = BinnedData::build(x, &all, self.params.max_bin, ctx.seed);
        let pool: Vec<usize> = (0..data.n_features())
            .filter(|&f| data.mappers[f].n_bins() > 1)
            .collect();
        let per_node = self.features_per_node(pool.len());
        let p = &self.params;
        let trees: Vec<Tree> = (0..p.n_estimators)
            .into_par_iter()
            .map(|t| {
                let seed = mix_seed(ctx.seed, t as u64);
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                let (rows, mult) = self.draw_rows(n, &mut rng);
                let mut gh = vec![0.0f64; n * (k + 1)];
                let mut total = 0.0;
                for &r in &rows {
                    let r = r as usize;
                    let w = weights[r] * mult[r];
                    gh[r * (k + 1) + yc[r] as usize] = w;
                    gh[r * (k + 1) + k] = w;
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
                let mut leaf_values = Vec::with_capacity(grown.leaf_totals.len() * k);
                for t in &grown.leaf_totals {
                    let h = t[k];
                    leaf_values.extend(t[..k].iter().map(|g| {
                        if h > 0.0 {
                            (g / h) as f32
                        } else {
                            1.0 / k as f32
                        }
                    }));
                }
                Tree {
                    nodes: grown.nodes,
                    leaf_values,
                    n_outputs: k,
                }
            })
            .collect();
        self.fitted = Some(FittedForest {
            classes,
            n_dense: x.n_dense(),
            n_sparse: x.n_sparse(),
            trees,
        });
        Ok(())
    }

    fn predict_proba(&self, x: &Features) -> Result<Array2<f32>> {
        let f = self.fitted()?;
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
        Ok(f.classes.expand(probs.view()))
    }

    fn search_space(&self) -> Vec<SearchDim> {
        vec![
            SearchDim::new("max_features", &["sqrt", "third", "log2", "half"], false),
            SearchDim::new("min_samples_leaf", &["1", "3", "5"], false),
        ]
    }

    fn clone_box(&self) -> Box<dyn Estimator> {
        Box::new(self.clone())
    }
}
