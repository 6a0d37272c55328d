//! Advanced tuning: every tunable parameter of a blueprint — its featurizers (feature list,
//! image backbone and feature levels, TF-IDF settings, one-hot settings) and its estimator's
//! hyperparameters — listed with current values and domains, and set by name with validation.

use blueprints::params::{ParamDomain, ParamSpec, parse_bool, parse_choice, parse_int};
use blueprints::text::{Analyzer, DocFreq, TfidfConfig};
use thiserror::Error;

use super::candidates::blocks_for;
use crate::dataset::{Dataset, Task};
use crate::model::BlockSpec;
use crate::model::{Candidate, FeatureList};

/// A refused tuning request; the message lists the valid names or values.
#[derive(Debug, Error, PartialEq)]
pub enum TuneError {
    /// No parameter of that name.
    #[error("unknown parameter '{name}'; tunable parameters: {valid}")]
    UnknownParam { name: String, valid: String },
    /// A value outside the parameter's domain.
    #[error("invalid value '{value}' for '{name}': expected {expected}")]
    InvalidValue {
        name: String,
        value: String,
        expected: String,
    },
    /// A setting that is not `name=value`.
    #[error("'{0}' is not of the form name=value")]
    Malformed(String),
}

/// Parameter: which feature list (input columns) the blueprint uses.
pub const FEATURE_LIST: &str = "feature_list";
/// Parameter: image backbone.
pub const BACKBONE: &str = "backbone";
/// Parameter: pooled feature levels of the image backbone, `+`-joined.
pub const IMAGE_LEVELS: &str = "image_levels";
/// Parameter: word n-gram range of TF-IDF.
pub const TFIDF_WORD: &str = "tfidf_word_ngrams";
/// Parameter: character n-gram range of TF-IDF (or `none`).
pub const TFIDF_CHAR: &str = "tfidf_char_ngrams";
/// Parameter: minimum document count of a TF-IDF term.
pub const TFIDF_MIN_DF: &str = "tfidf_min_df";
/// Parameter: vocabulary size cap of each TF-IDF analyzer (0 = none).
pub const TFIDF_MAX_FEATURES: &str = "tfidf_max_features";
/// Parameter: `1 + ln(tf)` term frequencies.
pub const TFIDF_SUBLINEAR: &str = "tfidf_sublinear_tf";
/// Parameter: drop English stop words (word n-grams).
pub const TFIDF_STOP_WORDS: &str = "tfidf_stop_words";
/// Parameter: minimum count of a category to get its own one-hot column.
pub const ONEHOT_MIN_COUNT: &str = "onehot_min_count";
/// Parameter: most one-hot columns per categorical column.
pub const ONEHOT_MAX_LEVELS: &str = "onehot_max_levels";

const WORD_RANGES: [&str; 3] = ["1-1", "1-2", "1-3"];
const CHAR_RANGES: [&str; 6] = ["none", "1-3", "2-4", "2-5", "3-5", "3-6"];
const LEVELS: [&str; 4] = ["low", "medium", "high", "highest"];

/// Every non-empty subset of the feature levels, shallow to deep, `+`-joined.
fn level_choices() -> Vec<String> {
    (1u32..16)
        .map(|mask| {
            LEVELS
                .iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, l)| *l)
                .collect::<Vec<_>>()
                .join("+")
        })
        .collect()
}

fn range_str(r: (usize, usize)) -> String {
    format!("{}-{}", r.0, r.1)
}

fn parse_range(s: &str) -> Option<(usize, usize)> {
    let (a, b) = s.split_once('-')?;
    Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
}

fn doc_freq_str(d: DocFreq) -> String {
    match d {
        DocFreq::Count(c) => c.to_string(),
        DocFreq::Proportion(p) => p.to_string(),
    }
}

fn text_analyzers(c: &Candidate) -> Option<&Vec<TfidfConfig>> {
    c.blocks.iter().find_map(|b| match b {
        BlockSpec::Text { analyzers, .. } => Some(analyzers),
        _ => None,
    })
}

/// The featurizer parameters of `c` (those its blocks have), with `lists` as the choices of
/// `feature_list` (left out when `lists` is empty).
pub fn featurizer_params(c: &Candidate, lists: &[FeatureList]) -> Vec<ParamSpec> {
    let mut out = Vec::new();
    // A blueprint that reads an image column's trunk maps (the fine-tuned CNN) takes only the
    // lists of that one column.
    let trunk_column = c
        .image_keys()
        .into_iter()
        .find(|k| k.is_trunk())
        .map(|k| k.column);
    let choices: Vec<String> = lists
        .iter()
        .filter(|l| {
            trunk_column
                .as_ref()
                .is_none_or(|col| l.columns.as_slice() == std::slice::from_ref(col))
        })
        .map(|l| l.name.clone())
        .collect();
    if !choices.is_empty() {
        out.push(ParamSpec::new(
            FEATURE_LIST,
            &c.feature_list,
            ParamDomain::Choice(choices),
            "input columns: a feature list of the project",
        ));
    }
    if let Some(k) = c.image_keys().first() {
        out.push(ParamSpec::new(
            BACKBONE,
            &k.backbone,
            ParamDomain::Choice(
                neural::Backbone::ALL
                    .iter()
                    .map(|b| b.name().to_string())
                    .collect(),
            ),
            "pretrained image backbone",
        ));
        // Trunk maps follow the estimator that reads them (the fine-tuned CNN's `stages`).
        if !k.is_trunk() {
            out.push(ParamSpec::new(
                IMAGE_LEVELS,
                k.levels.join("+"),
                ParamDomain::Choice(level_choices()),
                "pooled backbone stages concatenated (shallow to deep)",
            ));
        }
    }
    if let Some(analyzers) = text_analyzers(c) {
        let word = analyzers.iter().find(|a| a.analyzer == Analyzer::Word);
        let chars = analyzers.iter().find(|a| a.analyzer == Analyzer::CharWb);
        let first = analyzers.first();
        let choice = |v: &[&str]| ParamDomain::Choice(v.iter().map(|s| s.to_string()).collect());
        out.push(ParamSpec::new(
            TFIDF_WORD,
            word.map_or("none".into(), |a| range_str(a.ngram_range)),
            choice(&WORD_RANGES),
            "TF-IDF word n-gram range",
        ));
        out.push(ParamSpec::new(
            TFIDF_CHAR,
            chars.map_or("none".into(), |a| range_str(a.ngram_range)),
            choice(&CHAR_RANGES),
            "TF-IDF character n-gram range within words, or none",
        ));
        out.push(ParamSpec::new(
            TFIDF_MIN_DF,
            first.map_or("1".into(), |a| doc_freq_str(a.min_df)),
            ParamDomain::Int { min: 1, max: 1000 },
            "drop terms found in fewer documents",
        ));
        out.push(ParamSpec::new(
            TFIDF_MAX_FEATURES,
            first.and_then(|a| a.max_features).unwrap_or(0),
            ParamDomain::Int {
                min: 0,
                max: 10_000_000,
            },
            "keep the most frequent terms per analyzer (0 = all)",
        ));
        out.push(ParamSpec::new(
            TFIDF_SUBLINEAR,
            first.is_some_and(|a| a.sublinear_tf),
            ParamDomain::Bool,
            "term frequency 1 + ln(tf)",
        ));
        out.push(ParamSpec::new(
            TFIDF_STOP_WORDS,
            word.is_some_and(|a| a.english_stop_words),
            ParamDomain::Bool,
            "drop English stop words from word n-grams",
        ));
    }
    if let Some((min_count, max_levels)) = c.blocks.iter().find_map(|b| match b {
        BlockSpec::Categorical {
            min_count,
            max_levels,
            ..
        } => Some((*min_count, *max_levels)),
        _ => None,
    }) {
        out.push(ParamSpec::new(
            ONEHOT_MIN_COUNT,
            min_count,
            ParamDomain::Int {
                min: 1,
                max: 10_000,
            },
            "a category needs this many training rows for its own column",
        ));
        out.push(ParamSpec::new(
            ONEHOT_MAX_LEVELS,
            max_levels,
            ParamDomain::Int {
                min: 1,
                max: 100_000,
            },
            "most one-hot columns per categorical column",
        ));
    }
    out
}

/// Every tunable parameter of `c`: featurizer parameters first, then the estimator's.
pub fn tunable_params(c: &Candidate, lists: &[FeatureList]) -> Vec<ParamSpec> {
    let mut out = featurizer_params(c, lists);
    out.extend(c.estimator.params());
    out
}

/// [`tunable_params`] that act on a target of `task`'s kind (what is listed and shown), a
/// searched one with the value its search starts from on that kind.
pub fn tunable_params_for(c: &Candidate, lists: &[FeatureList], task: Task) -> Vec<ParamSpec> {
    let kind = task.target_kind();
    let starts = c.estimator.search_starts(kind);
    tunable_params(c, lists)
        .into_iter()
        .filter(|p| p.applies_to(kind))
        .map(|mut p| {
            if let Some((_, start)) = starts.iter().find(|(name, _)| *name == p.name) {
                p.value = start.clone();
            }
            p
        })
        .collect()
}

/// Splits `name=value`.
pub fn parse_setting(s: &str) -> Result<(String, String), TuneError> {
    match s.split_once('=') {
        Some((n, v)) if !n.trim().is_empty() => Ok((n.trim().to_string(), v.trim().to_string())),
        _ => Err(TuneError::Malformed(s.to_string())),
    }
}

fn invalid(spec: &ParamSpec, value: &str) -> TuneError {
    TuneError::InvalidValue {
        name: spec.name.clone(),
        value: value.to_string(),
        expected: spec.domain.to_string(),
    }
}

/// Checks `value` against `spec`'s domain (the error lists the valid values).
pub fn check_value(spec: &ParamSpec, value: &str) -> Result<(), TuneError> {
    let ok = match &spec.domain {
        ParamDomain::Float { min, max, .. } => {
            blueprints::params::parse_float(&spec.name, value, *min, *max).is_ok()
        }
        ParamDomain::Int { min, max } => parse_int(&spec.name, value, *min, *max).is_ok(),
        ParamDomain::Bool => parse_bool(&spec.name, value).is_ok(),
        ParamDomain::Choice(c) => {
            let refs: Vec<&str> = c.iter().map(String::as_str).collect();
            parse_choice(&spec.name, value, &refs).is_ok()
        }
    };
    if ok {
        Ok(())
    } else {
        Err(invalid(spec, value))
    }
}

/// Sets parameter `name` of `c` to `value`. `ds` and `lists` are needed to rebuild the blocks
/// when the feature list changes. Unknown names and out-of-domain values are refused with the
/// valid choices listed; `c` is unchanged on error.
pub fn apply_setting(
    target: &mut Candidate,
    name: &str,
    value: &str,
    ds: &Dataset,
    lists: &[FeatureList],
) -> Result<(), TuneError> {
    let specs = tunable_params(target, lists);
    let Some(spec) = specs.iter().find(|s| s.name == name) else {
        return Err(TuneError::UnknownParam {
            name: name.to_string(),
            valid: specs
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        });
    };
    check_value(spec, value)?;
    let mut next = target.clone();
    let c = &mut next;
    match name {
        FEATURE_LIST => {
            let Some(list) = lists.iter().find(|l| l.name == value) else {
                return Err(invalid(spec, value));
            };
            let backbone = c
                .backbone()
                .map(str::to_string)
                .unwrap_or_else(|| crate::features::image::DEFAULT_BACKBONES[0].to_string());
            let old = c.clone();
            c.blocks = blocks_for(ds, &list.columns, &backbone);
            c.feature_list = list.name.clone();
            // Keep the featurizer settings already chosen where the new blocks have them.
            for p in featurizer_params(&old, &[]) {
                let _ = apply_block_setting(c, &p.name, &p.value);
            }
        }
        _ if featurizer_params(c, &[]).iter().any(|p| p.name == name) => {
            apply_block_setting(c, name, value).map_err(|_| invalid(spec, value))?;
            if name == BACKBONE {
                c.estimator
                    .set_image_backbone(value)
                    .map_err(|_| invalid(spec, value))?;
            }
        }
        _ => {
            c.estimator
                .set_param(name, value)
                .map_err(|_| invalid(spec, value))?;
        }
    }
    if let Some(level) = c.estimator.image_level() {
        for b in &mut c.blocks {
            if let BlockSpec::Image(k) = b {
                k.levels = vec![level.clone()];
            }
        }
    }
    *target = next;
    Ok(())
}

/// Applies a featurizer setting (already validated) to every block it concerns; the blocks are
/// unchanged when it does not apply.
fn apply_block_setting(c: &mut Candidate, name: &str, value: &str) -> Result<(), ()> {
    let saved = c.blocks.clone();
    let r = apply_block_setting_inner(c, name, value);
    if r.is_err() {
        c.blocks = saved;
    }
    r
}

fn apply_block_setting_inner(c: &mut Candidate, name: &str, value: &str) -> Result<(), ()> {
    let count = |v: &str| v.trim().parse::<u64>().map_err(|_| ());
    let flag = |v: &str| parse_bool(name, v).map_err(|_| ());
    let mut changed = false;
    for b in &mut c.blocks {
        match (name, b) {
            (BACKBONE, BlockSpec::Image(k)) => {
                k.backbone = value.to_string();
                changed = true;
            }
            (IMAGE_LEVELS, BlockSpec::Image(k)) => {
                k.levels = value.split('+').map(|s| s.trim().to_string()).collect();
                changed = true;
            }
            (ONEHOT_MIN_COUNT, BlockSpec::Categorical { min_count, .. }) => {
                *min_count = count(value)? as usize;
                changed = true;
            }
            (ONEHOT_MAX_LEVELS, BlockSpec::Categorical { max_levels, .. }) => {
                *max_levels = count(value)? as usize;
                changed = true;
            }
            (_, BlockSpec::Text { analyzers, .. }) => {
                let template = analyzers.first().cloned().unwrap_or_default();
                match name {
                    TFIDF_WORD | TFIDF_CHAR => {
                        let kind = if name == TFIDF_WORD {
                            Analyzer::Word
                        } else {
                            Analyzer::CharWb
                        };
                        analyzers.retain(|a| a.analyzer != kind);
                        if value != "none" {
                            let range = parse_range(value).ok_or(())?;
                            let mut a = match kind {
                                Analyzer::Word => TfidfConfig::word(range.0, range.1),
                                Analyzer::CharWb => TfidfConfig::char_wb(range.0, range.1),
                            };
                            a.min_df = template.min_df;
                            a.max_features = template.max_features;
                            a.sublinear_tf = template.sublinear_tf;
                            if kind == Analyzer::Word {
                                analyzers.insert(0, a);
                            } else {
                                analyzers.push(a);
                            }
                        }
                        if analyzers.is_empty() {
                            return Err(());
                        }
                    }
                    TFIDF_MIN_DF => analyzers
                        .iter_mut()
                        .for_each(|a| a.min_df = DocFreq::Count(count(value).unwrap_or(1))),
                    TFIDF_MAX_FEATURES => {
                        let n = count(value)? as usize;
                        analyzers
                            .iter_mut()
                            .for_each(|a| a.max_features = (n > 0).then_some(n));
                    }
                    TFIDF_SUBLINEAR => {
                        let v = flag(value)?;
                        analyzers.iter_mut().for_each(|a| a.sublinear_tf = v);
                    }
                    TFIDF_STOP_WORDS => {
                        let v = flag(value)?;
                        analyzers
                            .iter_mut()
                            .filter(|a| a.analyzer == Analyzer::Word)
                            .for_each(|a| a.english_stop_words = v);
                    }
                    _ => continue,
                }
                changed = true;
            }
            _ => {}
        }
    }
    if changed { Ok(()) } else { Err(()) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autopilot::candidates::estimator_by_key;
    use crate::dataset::{Column, ColumnType};
    use crate::features::ImageKey;

    fn dataset() -> Dataset {
        let col = |name: &str, kind, v: &[&str]| Column {
            name: name.into(),
            kind,
            values: v.iter().map(|s| Some(s.to_string())).collect(),
        };
        Dataset {
            source: "t.csv".into(),
            base_dir: ".".into(),
            columns: vec![
                col("img", ColumnType::Image, &["a.png", "b.png"]),
                col("txt", ColumnType::Text, &["a b", "c d"]),
                col("n", ColumnType::Numeric, &["1", "2"]),
                col("cat", ColumnType::Categorical, &["x", "y"]),
            ],
            skipped: vec![],
        }
    }

    fn candidate(ds: &Dataset) -> Candidate {
        let cols: Vec<String> = ["img", "txt", "n", "cat"].map(String::from).to_vec();
        Candidate {
            feature_list: "all".into(),
            blocks: blocks_for(ds, &cols, "efficientnet-lite0"),
            estimator: estimator_by_key("gbdt").unwrap(),
            search_text: false,
        }
    }

    fn value(c: &Candidate, name: &str) -> String {
        tunable_params(c, &[])
            .into_iter()
            .find(|p| p.name == name)
            .unwrap()
            .value
    }

    #[test]
    fn lists_featurizer_and_estimator_params() {
        let ds = dataset();
        let c = candidate(&ds);
        let names: Vec<String> = tunable_params(&c, &[])
            .into_iter()
            .map(|p| p.name)
            .collect();
        for n in [
            BACKBONE,
            IMAGE_LEVELS,
            TFIDF_WORD,
            TFIDF_CHAR,
            TFIDF_MIN_DF,
            ONEHOT_MIN_COUNT,
        ] {
            assert!(names.iter().any(|x| x == n), "{n} missing from {names:?}");
        }
        // The estimator's own parameters follow the featurizer's.
        for p in c.estimator.params() {
            assert!(names.contains(&p.name), "{}", p.name);
        }
        assert_eq!(value(&c, BACKBONE), "efficientnet-lite0");
        assert_eq!(value(&c, IMAGE_LEVELS), "high+highest");
        // Short texts get word 1-2 and char 2-5 (see `text_analyzers`).
        assert_eq!(value(&c, TFIDF_WORD), "1-2");
        assert_eq!(value(&c, TFIDF_CHAR), "2-5");
        assert_eq!(level_choices().len(), 15);
    }

    /// The fine-tuned CNN reads one image column's trunk maps: only that column's lists are
    /// offered (a text-only list would fail after the tune starts).
    #[test]
    fn a_trunk_reader_is_offered_only_its_image_columns_lists() {
        let list = |name: &str, cols: &[&str]| FeatureList {
            name: name.into(),
            columns: cols.iter().map(|c| c.to_string()).collect(),
        };
        let lists = [
            list("all", &["img", "txt", "n", "cat"]),
            list("image only", &["img"]),
            list("text only", &["txt"]),
        ];
        let choices = |c: &Candidate| match tunable_params(c, &lists)
            .into_iter()
            .find(|p| p.name == FEATURE_LIST)
            .map(|p| p.domain)
        {
            Some(ParamDomain::Choice(v)) => v,
            other => panic!("{other:?}"),
        };
        let ds = dataset();
        assert_eq!(choices(&candidate(&ds)), ["all", "image only", "text only"]);
        let trunk = Candidate {
            feature_list: "image only".into(),
            blocks: vec![BlockSpec::Image(ImageKey {
                column: "img".into(),
                backbone: "mobilenet-v2".into(),
                levels: vec!["trunk".into()],
            })],
            estimator: estimator_by_key("gbdt").unwrap(),
            search_text: false,
        };
        assert_eq!(choices(&trunk), ["image only"]);
    }

    #[test]
    fn sets_featurizer_and_estimator_params() {
        let ds = dataset();
        let mut c = candidate(&ds);
        let lists = vec![
            FeatureList {
                name: "all".into(),
                columns: ["img", "txt", "n", "cat"].map(String::from).to_vec(),
            },
            FeatureList {
                name: "tabular".into(),
                columns: vec!["n".into(), "cat".into()],
            },
        ];
        apply_setting(&mut c, BACKBONE, "mobilenet-v2", &ds, &lists).unwrap();
        apply_setting(&mut c, IMAGE_LEVELS, "medium+highest", &ds, &lists).unwrap();
        apply_setting(&mut c, TFIDF_CHAR, "none", &ds, &lists).unwrap();
        apply_setting(&mut c, TFIDF_MIN_DF, "3", &ds, &lists).unwrap();
        assert_eq!(
            c.image_keys(),
            vec![ImageKey {
                column: "img".into(),
                backbone: "mobilenet-v2".into(),
                levels: vec!["medium".into(), "highest".into()],
            }]
        );
        let BlockSpec::Text { analyzers, .. } = &c.blocks[1] else {
            panic!("{:?}", c.blocks[1]);
        };
        assert_eq!(analyzers.len(), 1);
        assert_eq!(analyzers[0].analyzer, Analyzer::Word);
        assert_eq!(analyzers[0].min_df, DocFreq::Count(3));
        let est = c.estimator.params()[0].clone();
        let other = match &est.domain {
            ParamDomain::Int { min, .. } => min.to_string(),
            ParamDomain::Float { min, .. } => min.to_string(),
            ParamDomain::Bool => (est.value != "true").to_string(),
            ParamDomain::Choice(v) => v.last().unwrap().clone(),
        };
        apply_setting(&mut c, &est.name, &other, &ds, &lists).unwrap();
        assert_eq!(value(&c, &est.name).parse::<f64>().ok(), other.parse().ok());
        // The feature list rebuilds the blocks and keeps what it can.
        apply_setting(&mut c, ONEHOT_MIN_COUNT, "5", &ds, &lists).unwrap();
        apply_setting(&mut c, FEATURE_LIST, "tabular", &ds, &lists).unwrap();
        assert_eq!(c.feature_list, "tabular");
        assert_eq!(c.blocks.len(), 2);
        assert!(c.image_keys().is_empty());
        assert_eq!(value(&c, ONEHOT_MIN_COUNT), "5");
    }

    #[test]
    fn the_fine_tuned_cnns_stages_choose_its_trunk_level() {
        let ds = dataset();
        let lists = vec![FeatureList {
            name: "image only".into(),
            columns: vec!["img".into()],
        }];
        let mut c = crate::autopilot::candidates::fine_tune_candidate(
            &ds,
            &lists,
            "mobilenet-v2",
            1,
            crate::dataset::Task::Multiclass,
            neural::DeviceChoice::Cpu,
        )
        .unwrap();
        let levels = |c: &Candidate| c.image_keys()[0].levels.clone();
        assert_eq!(levels(&c), vec!["trunk".to_string()]);
        // Trunk maps are not a pooled-level choice: the estimator's stages pick them.
        assert!(
            tunable_params(&c, &lists)
                .iter()
                .all(|p| p.name != IMAGE_LEVELS)
        );
        apply_setting(&mut c, "stages", "2", &ds, &lists).unwrap();
        assert_eq!(levels(&c), vec!["trunk2".to_string()]);
        apply_setting(&mut c, BACKBONE, "efficientnet-lite0", &ds, &lists).unwrap();
        assert_eq!(levels(&c), vec!["trunk2".to_string()]);
        assert!(c.is_fine_tuned());
        apply_setting(&mut c, "stages", "3", &ds, &lists).unwrap();
        assert_eq!(levels(&c), vec!["trunk3".to_string()]);
        assert!(apply_setting(&mut c, "stages", "4", &ds, &lists).is_err());
        apply_setting(&mut c, "stages", "1", &ds, &lists).unwrap();
        assert_eq!(levels(&c), vec!["trunk".to_string()]);
    }

    #[test]
    fn refuses_unknown_names_and_bad_values_listing_the_choices() {
        let ds = dataset();
        let mut c = candidate(&ds);
        let before = format!("{:?}", c.blocks);
        let e = apply_setting(&mut c, "depthh", "3", &ds, &[]).unwrap_err();
        assert!(matches!(e, TuneError::UnknownParam { .. }));
        assert!(e.to_string().contains("backbone"), "{e}");
        let e = apply_setting(&mut c, BACKBONE, "resnet50", &ds, &[])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("mobilenet-v2") && e.contains("efficientnet-lite2"),
            "{e}"
        );
        let e = apply_setting(&mut c, IMAGE_LEVELS, "deep", &ds, &[]).unwrap_err();
        assert!(matches!(e, TuneError::InvalidValue { .. }));
        assert!(apply_setting(&mut c, TFIDF_MIN_DF, "0", &ds, &[]).is_err());
        assert_eq!(format!("{:?}", c.blocks), before, "unchanged on error");
        assert_eq!(
            parse_setting("a=b=c").unwrap(),
            ("a".to_string(), "b=c".to_string())
        );
        assert!(parse_setting("novalue").is_err());
    }
}
