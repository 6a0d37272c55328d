//! The blueprint catalogue: which featurizer + estimator combinations autopilot tries.

use blueprints::Estimator;
use blueprints::search::Searched;
use blueprints::text::TfidfConfig;

use super::Mode;

use crate::dataset::{ColumnType, Dataset, Task};
use crate::features::{ImageKey, TextEmbeddingKey};
use crate::model::{BlockSpec, Candidate, FeatureList};

/// Default feature levels of image blocks (DataRobot's default granularity: high + highest).
pub const DEFAULT_LEVELS: [&str; 2] = ["high", "highest"];

/// Names of the estimators autopilot can build, with a one-line description.
pub const ESTIMATORS: [(&str, &str); 9] = [
    ("lr", "multinomial logistic regression (L-BFGS)"),
    ("ridge", "ridge regression (regression targets)"),
    ("gbdt", "histogram gradient boosting"),
    ("rf", "random forest"),
    ("et", "extra trees"),
    ("knn", "k-nearest neighbours (cosine)"),
    ("nb", "complement naive Bayes (text only)"),
    ("mnb", "multinomial naive Bayes (text only)"),
    (
        "snn",
        "deep self-normalizing residual network (SELU, AlphaDropout, Adam)",
    ),
];

/// A fresh estimator with default hyperparameters by short name (see [`ESTIMATORS`]).
pub fn estimator_by_key(key: &str) -> Option<Box<dyn Estimator>> {
    use blueprints::knn::Knn;
    use blueprints::linear::LogisticRegression;
    use blueprints::naive_bayes::{ComplementNb, MultinomialNb};
    use blueprints::tree::{GradientBoosting, RandomForest};
    let e: Box<dyn Estimator> = match key {
        "lr" => Box::new(LogisticRegression::default()),
        "ridge" => Box::new(blueprints::linear::Ridge::default()),
        "gbdt" => Box::new(GradientBoosting::default()),
        "rf" => Box::new(RandomForest::default()),
        "et" => {
            let mut rf = RandomForest::default();
            rf.set_param("extra_trees", "true").ok()?;
            Box::new(rf)
        }
        "knn" => Box::new(Knn::default()),
        "nb" => Box::new(ComplementNb::default()),
        "mnb" => Box::new(MultinomialNb::default()),
        "snn" => Box::new(neural::SelfNormalizingNet::default()),
        _ => return None,
    };
    Some(e)
}

/// The budget of the search inside a blueprint (see [`blueprints::search`]) by estimator and
/// mode: (configurations of the non-path hyperparameters, inner folds), or `None` for no search.
/// Cheap searches (a warm-started `C` path, naive Bayes' `alpha`, k-NN's `k`, the residual net's
/// small space) run in every mode; gradient boosting (whose rounds are a path: one fit gives
/// them all) and forests, whose fits cost the most, keep their defaults in quick mode and are
/// searched in full and comprehensive mode, with successive halving over the inner folds.
pub fn search_budget(key: &str, mode: Mode) -> Option<(usize, usize)> {
    let by_mode = |quick: usize, full: usize, comprehensive: usize| match mode {
        Mode::Quick => quick,
        Mode::Full => full,
        Mode::Comprehensive => comprehensive,
    };
    let configs = match key {
        "lr" | "ridge" | "nb" | "mnb" => 1,
        "knn" => by_mode(2, 4, 8),
        "snn" => by_mode(3, 6, 12),
        "gbdt" => by_mode(0, 2, 4),
        "rf" | "et" => by_mode(0, 3, 6),
        _ => 0,
    };
    (configs > 0).then_some((configs, by_mode(3, 3, 5)))
}

/// The estimator `key` with default hyperparameters, wrapped in the inner search of `mode`'s
/// budget ([`search_budget`]) when it has one.
pub fn searched_estimator(key: &str, mode: Mode) -> Option<Box<dyn Estimator>> {
    let base = estimator_by_key(key)?;
    Some(match search_budget(key, mode) {
        Some((configs, inner_folds)) => Box::new(Searched::new(base, configs, inner_folds)),
        None => base,
    })
}

/// The TF-IDF analyzers used for a text column: word 1–2 grams plus char_wb 2–5 grams for
/// short texts (titles), word 1–2 grams with `min_df=2` for long texts.
pub fn text_analyzers(ds: &Dataset, column: &str) -> Vec<TfidfConfig> {
    let mean_words = ds.column(column).map_or(0.0, |c| {
        let (n, w) = c
            .values
            .iter()
            .flatten()
            .fold((0usize, 0usize), |(n, w), v| {
                (n + 1, w + v.split_whitespace().count())
            });
        if n == 0 { 0.0 } else { w as f64 / n as f64 }
    });
    let word = TfidfConfig::word(1, 2);
    if mean_words > 20.0 {
        let mut w = word;
        w.min_df = blueprints::text::DocFreq::Count(2);
        vec![w]
    } else {
        vec![word, TfidfConfig::char_wb(2, 5)]
    }
}

/// Feature blocks for `columns` of `ds`, with `backbone` for image columns.
pub fn blocks_for(ds: &Dataset, columns: &[String], backbone: &str) -> Vec<BlockSpec> {
    columns
        .iter()
        .filter_map(|name| {
            let col = ds.column(name)?;
            Some(match col.kind {
                ColumnType::Numeric => BlockSpec::Numeric {
                    column: name.clone(),
                },
                ColumnType::Categorical => BlockSpec::Categorical {
                    column: name.clone(),
                    min_count: 2,
                    max_levels: 200,
                },
                ColumnType::Date => BlockSpec::Date {
                    column: name.clone(),
                },
                ColumnType::Text => BlockSpec::Text {
                    column: name.clone(),
                    analyzers: text_analyzers(ds, name),
                },
                ColumnType::Image => BlockSpec::Image(ImageKey {
                    column: name.clone(),
                    backbone: backbone.to_string(),
                    levels: DEFAULT_LEVELS.iter().map(|s| s.to_string()).collect(),
                }),
            })
        })
        .collect()
}

/// The built-in feature lists' names (a user list may not take one).
pub const BUILT_IN_LISTS: [&str; 4] = [
    INFORMATIVE_LIST,
    "image only",
    "text only",
    crate::autopilot::REDUCED_LIST,
];

/// The profile's default feature list.
pub const INFORMATIVE_LIST: &str = "Informative Features";

/// The feature lists for a dataset: "Informative Features" (the profile's default list), and
/// "image only" / "text only" when those modalities are present alongside others, then any user lists.
pub fn feature_lists(
    ds: &Dataset,
    informative: &[String],
    user: &[FeatureList],
) -> Vec<FeatureList> {
    let kind_of = |c: &String| ds.column(c).map(|c| c.kind);
    let mut lists = vec![FeatureList {
        name: INFORMATIVE_LIST.into(),
        columns: informative.to_vec(),
    }];
    for (kind, name) in [
        (ColumnType::Image, BUILT_IN_LISTS[1]),
        (ColumnType::Text, BUILT_IN_LISTS[2]),
    ] {
        let cols: Vec<String> = informative
            .iter()
            .filter(|c| kind_of(c) == Some(kind))
            .cloned()
            .collect();
        if !cols.is_empty() && cols.len() < informative.len() {
            lists.push(FeatureList {
                name: name.into(),
                columns: cols,
            });
        }
    }
    lists.extend(user.iter().cloned());
    lists
}

/// Which estimators suit a feature list: by the modalities it contains. The residual net joins
/// every list with dense features (image features, numbers, dates, categories).
pub fn estimators_for(ds: &Dataset, list: &FeatureList, mode: Mode) -> Vec<&'static str> {
    let quick = mode == Mode::Quick;
    let kinds: Vec<ColumnType> = list
        .columns
        .iter()
        .filter_map(|c| ds.column(c).map(|c| c.kind))
        .collect();
    let only = |k: ColumnType| !kinds.is_empty() && kinds.iter().all(|&x| x == k);
    let mut keys = vec!["lr", "gbdt"];
    if only(ColumnType::Text) {
        keys.push("nb");
        if !quick {
            keys.push("mnb");
        }
    } else {
        keys.push("et");
        if !quick {
            keys.push("rf");
        }
    }
    if only(ColumnType::Image) {
        keys.push("knn");
    }
    if kinds.iter().any(|&k| k != ColumnType::Text) {
        keys.push("snn");
    }
    keys
}

/// The estimators of `keys` that suit `task`: for regression, ridge regression in place of
/// logistic regression, and only the estimators that can regress.
pub fn for_task(keys: Vec<&'static str>, task: Task) -> Vec<&'static str> {
    if !task.is_regression() {
        return keys;
    }
    keys.into_iter()
        .map(|k| if k == "lr" { "ridge" } else { k })
        .filter(|k| estimator_by_key(k).is_some_and(|e| e.supports_regression()))
        .collect()
}

/// The full catalogue: every feature list × its estimators for `task`, with `backbone` for image
/// blocks.
pub fn catalogue(
    ds: &Dataset,
    lists: &[FeatureList],
    backbone: &str,
    mode: Mode,
    task: Task,
) -> Vec<Candidate> {
    let mut out = Vec::new();
    for list in lists {
        let blocks = blocks_for(ds, &list.columns, backbone);
        if blocks.is_empty() {
            continue;
        }
        for key in for_task(estimators_for(ds, list, mode), task) {
            if let Some(estimator) = searched_estimator(key, mode) {
                out.push(Candidate {
                    feature_list: list.name.clone(),
                    blocks: blocks.clone(),
                    estimator,
                    search_text: mode != Mode::Quick,
                });
            }
        }
    }
    out
}

/// The fine-tuned CNN blueprint (`backbone`'s last `stages` stages (1 or 2), head and a new
/// classifier trained on the image's trunk maps; see [`neural::finetune`]): for the one image
/// column of a classification task, on the "image only" list (or the informative list when it
/// holds only that column), training on `device`. `None` for regression, without exactly one
/// image column, for an unknown or bottleneck backbone or another number of stages. It is
/// slow on a CPU: the session adds it in comprehensive mode, on a hardware GPU, or when asked.
pub fn fine_tune_candidate(
    ds: &Dataset,
    lists: &[FeatureList],
    backbone: &str,
    stages: usize,
    task: Task,
    device: neural::DeviceChoice,
) -> Option<Candidate> {
    if task.is_regression() {
        return None;
    }
    let image_only = |l: &&FeatureList| {
        l.columns.len() == 1
            && ds
                .column(&l.columns[0])
                .is_some_and(|c| c.kind == ColumnType::Image)
    };
    let list = lists
        .iter()
        .find(|l| l.name == "image only" && image_only(l))
        .or_else(|| lists.first().filter(image_only))?;
    let backbone_net = neural::Backbone::from_name(backbone).ok()?;
    let mut estimator = neural::FineTunedCnn::new(backbone_net);
    estimator.params.device = device.into();
    estimator.params.stages = stages;
    Some(Candidate {
        feature_list: list.name.clone(),
        blocks: vec![BlockSpec::Image(ImageKey {
            column: list.columns[0].clone(),
            backbone: backbone.to_string(),
            levels: vec![estimator.image_level()?],
        })],
        estimator: Box::new(estimator),
        search_text: false,
    })
}

/// Sentence-embedding blueprints for the feature lists that hold text: every TF-IDF block
/// becomes `model` embeddings (e.g. MiniLM); "→ LR" and "→ residual net" for each such list,
/// and "→ kNN" (cosine) where the list is text only (not in quick mode).
pub fn text_embedding_candidates(
    ds: &Dataset,
    lists: &[FeatureList],
    backbone: &str,
    model: &str,
    mode: Mode,
    task: Task,
) -> Vec<Candidate> {
    let mut out = Vec::new();
    for list in lists {
        let mut blocks = blocks_for(ds, &list.columns, backbone);
        let mut has_text = false;
        let mut text_only = !blocks.is_empty();
        for b in &mut blocks {
            if let BlockSpec::Text { column, .. } = b {
                has_text = true;
                *b = BlockSpec::TextEmbedding(TextEmbeddingKey {
                    column: column.clone(),
                    model: model.to_string(),
                });
            } else {
                text_only = false;
            }
        }
        if !has_text {
            continue;
        }
        let mut keys = vec!["lr", "snn"];
        if text_only && mode != Mode::Quick {
            keys.push("knn");
        }
        for key in for_task(keys, task) {
            if let Some(estimator) = searched_estimator(key, mode) {
                out.push(Candidate {
                    feature_list: list.name.clone(),
                    blocks: blocks.clone(),
                    estimator,
                    search_text: mode != Mode::Quick,
                });
            }
        }
    }
    out
}
