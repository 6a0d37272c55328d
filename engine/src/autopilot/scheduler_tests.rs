//! Unit tests of the autopilot's schedule ([`Autopilot::run`]) on a fake estimator whose
//! score, fit time and failures the tests choose: stages and survivors, the time and model
//! limits, resuming, failures, backbone retuning and derived models. Every fit takes
//! microseconds (or the few milliseconds a test asks for), so the whole file runs in seconds.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use blueprints::error::{BlueprintError, Result as BpResult};
use blueprints::metrics::Metric;
use blueprints::params::{ParamDomain, ParamSpec};
use blueprints::{Estimator, Features, FitContext};

use super::{Autopilot, AutopilotOptions, Event, Mode};
use crate::dataset::{Column, ColumnType, Dataset, Target};
use crate::features::{FeatureInputs, FeatureKey, FeatureMatrix, ImageKey};
use crate::leaderboard::{Leaderboard, LeaderboardRow};
use crate::model::{BlockSpec, Candidate};
use crate::partition::Partition;
use crate::project::{Project, ProjectSettings};

/// Fits per tag (each test uses its own tag: the tests run in parallel in one process).
static FITS: Mutex<BTreeMap<String, usize>> = Mutex::new(BTreeMap::new());

fn fits(tag: &str) -> usize {
    FITS.lock().unwrap().get(tag).copied().unwrap_or(0)
}

/// An estimator whose accuracy is its `skill`: every feature row holds `class + u` in its first
/// column (`u` in `[0, 1)` spread evenly), and the fake predicts the true class where
/// `u < skill`, the next class elsewhere. It learns nothing, so its validation score does not
/// depend on the sample, and the tests know the ranking in advance.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SchedulerTestEstimator {
    /// The estimator family ([`Estimator::name`]).
    family: String,
    /// Share of rows predicted right (the only hyperparameter).
    skill: f64,
    /// Fits are counted under this tag.
    tag: String,
    /// A fit on more than `slow_above` rows sleeps this long.
    sleep_ms: u64,
    slow_above: usize,
    /// A fit on more than this many rows fails.
    fail_above: Option<usize>,
    /// Predicts a negative probability in a class it does not choose (which no blender takes).
    #[serde(default)]
    negative: bool,
    /// Set by `fit`.
    n_classes: usize,
    n_train: usize,
}

#[typetag::serde]
impl Estimator for SchedulerTestEstimator {
    fn name(&self) -> String {
        self.family.clone()
    }

    fn params(&self) -> Vec<ParamSpec> {
        vec![ParamSpec::new(
            "skill",
            self.skill,
            ParamDomain::Float {
                min: 0.0,
                max: 1.0,
                log: false,
            },
            "share of rows predicted right",
        )]
    }

    fn set_param(&mut self, name: &str, value: &str) -> BpResult<()> {
        match name {
            "skill" => {
                self.skill = blueprints::params::parse_float(name, value, 0.0, 1.0)?;
                Ok(())
            }
            _ => Err(BlueprintError::UnknownParam {
                task: self.family.clone(),
                name: name.into(),
                valid: "skill".into(),
            }),
        }
    }

    fn fit(&mut self, x: &Features, y: &[u32], ctx: &FitContext) -> BpResult<()> {
        *FITS.lock().unwrap().entry(self.tag.clone()).or_default() += 1;
        if self.sleep_ms > 0 && y.len() > self.slow_above {
            std::thread::sleep(Duration::from_millis(self.sleep_ms));
        }
        if self.fail_above.is_some_and(|n| y.len() > n) {
            return Err(BlueprintError::InvalidInput(format!(
                "{} is configured to fail on {} rows",
                self.family,
                y.len()
            )));
        }
        if x.n_dense() == 0 {
            return Err(BlueprintError::InvalidInput("no dense column".into()));
        }
        self.n_classes = ctx.n_classes;
        self.n_train = y.len();
        Ok(())
    }

    fn predict_proba(&self, x: &Features) -> BpResult<Array2<f32>> {
        let dense = x
            .dense
            .as_ref()
            .ok_or_else(|| BlueprintError::NotFitted(self.family.clone()))?;
        let k = self.n_classes.max(2);
        let mut p = Array2::<f32>::from_elem((dense.nrows(), k), 0.2 / (k - 1) as f32);
        for (r, v) in dense.column(0).iter().enumerate() {
            let class = v.floor() as usize % k;
            let u = (v - v.floor()) as f64;
            let chosen = if u < self.skill {
                class
            } else {
                (class + 1) % k
            };
            p[[r, chosen]] = 0.8;
            if self.negative {
                p[[r, (chosen + 1) % k]] = -0.05;
            }
        }
        Ok(p)
    }

    fn clone_box(&self) -> Box<dyn Estimator> {
        Box::new(self.clone())
    }

    /// Reports the training rows, so that the leaderboard shows each model's sample size.
    fn searched_params(&self) -> Vec<(String, String)> {
        vec![("n_train".into(), self.n_train.to_string())]
    }
}

fn fake(family: &str, skill: f64, tag: &str) -> SchedulerTestEstimator {
    SchedulerTestEstimator {
        family: family.into(),
        skill,
        tag: tag.into(),
        sleep_ms: 0,
        slow_above: 0,
        fail_above: None,
        negative: false,
        n_classes: 0,
        n_train: 0,
    }
}

/// A blueprint of one numeric column ("x") and `e`.
fn cand(e: SchedulerTestEstimator) -> Candidate {
    Candidate {
        feature_list: "all".into(),
        blocks: vec![BlockSpec::Numeric { column: "x".into() }],
        estimator: Box::new(e),
        search_text: false,
    }
}

/// `cand` of each `(family, skill)`.
fn cands(tag: &str, list: &[(&str, f64)]) -> Vec<Candidate> {
    list.iter().map(|&(f, s)| cand(fake(f, s, tag))).collect()
}

fn image_key(backbone: &str) -> ImageKey {
    ImageKey {
        column: "img".into(),
        backbone: backbone.into(),
        levels: vec!["high".into()],
    }
}

/// Three classes; `x = class + u` with `u` the golden-ratio sequence (even in every fold and
/// class); five folds of the first `n` rows and a holdout of `holdout` more. The project lives
/// in a temporary folder and is reopened by every run.
struct Fixture {
    dir: tempfile::TempDir,
    ds: Dataset,
    target: Target,
    partition: Partition,
    /// Fake image features (same `class + u` column) per backbone.
    images: BTreeMap<FeatureKey, Arc<FeatureMatrix>>,
}

impl Fixture {
    fn new(n: usize, holdout: usize) -> Self {
        let rows = n + holdout;
        let labels: Vec<u32> = (0..rows).map(|i| (i % 3) as u32).collect();
        let x: Vec<f64> = (0..rows)
            .map(|i| labels[i] as f64 + (i as f64 * 0.618_033_988_749_895).fract())
            .collect();
        let ds = Dataset {
            source: "fake.csv".into(),
            base_dir: ".".into(),
            columns: vec![
                Column {
                    name: "x".into(),
                    kind: ColumnType::Numeric,
                    values: x.iter().map(|v| Some(format!("{v}"))).collect(),
                },
                Column {
                    name: "img".into(),
                    kind: ColumnType::Image,
                    values: (0..rows).map(|i| Some(format!("{i}.png"))).collect(),
                },
            ],
            skipped: vec![],
        };
        let ids: Vec<i32> = (0..rows)
            .map(|i| if i >= n { -1 } else { (i % 5) as i32 })
            .collect();
        let features =
            Array2::from_shape_fn((rows, 2), |(r, j)| if j == 0 { x[r] as f32 } else { 0.0 });
        let matrix = Arc::new(FeatureMatrix {
            features,
            ok: vec![true; rows],
        });
        let images = ["bb1", "bb2"]
            .iter()
            .map(|b| (FeatureKey::Image(image_key(b)), matrix.clone()))
            .collect();
        let dir = tempfile::tempdir().unwrap();
        Project::create(
            &dir.path().join("p"),
            ProjectSettings::new(Path::new("fake.csv"), "y"),
        )
        .unwrap();
        Self {
            dir,
            ds,
            target: Target::of_classes("y", ["a", "b", "c"].map(String::from).to_vec(), labels),
            partition: Partition::from_fold_ids(ids).unwrap(),
            images,
        }
    }

    fn project(&self) -> Project {
        Project::open(&self.dir.path().join("p")).unwrap()
    }

    /// Runs the autopilot over `candidates` on a freshly opened project; returns what `run`
    /// returned, the events and the leaderboard.
    fn run(
        &self,
        options: AutopilotOptions,
        start: Option<Instant>,
        candidates: Vec<Candidate>,
    ) -> (anyhow::Result<()>, Vec<Event>, Leaderboard) {
        let project = self.project();
        let events = Rc::new(RefCell::new(Vec::new()));
        let sink = events.clone();
        let mut ap = self.autopilot(&project, options, sink);
        if let Some(s) = start {
            ap = ap.with_start(s);
        }
        let res = ap.run(candidates);
        let lb = ap.leaderboard().clone();
        drop(ap);
        let events = events.borrow().clone();
        (res, events, lb)
    }

    fn autopilot<'a>(
        &'a self,
        project: &'a Project,
        options: AutopilotOptions,
        sink: Rc<RefCell<Vec<Event>>>,
    ) -> Autopilot<'a> {
        let mut inputs = FeatureInputs::new(&self.ds);
        for (k, m) in &self.images {
            inputs.insert(k.clone(), m.clone());
        }
        Autopilot::new(
            project,
            inputs,
            &self.target,
            &self.partition,
            options,
            Box::new(move |e: &Event| sink.borrow_mut().push(e.clone())),
        )
        .unwrap()
    }
}

fn options(mode: Mode) -> AutopilotOptions {
    AutopilotOptions {
        mode,
        max_models: None,
        time_limit_s: None,
        seed: 0,
        backbones: vec![],
    }
}

fn skill(row: &LeaderboardRow) -> f64 {
    row.params["skill"].parse().unwrap()
}

fn n_train(row: &LeaderboardRow) -> usize {
    row.params["n_train"].parse().unwrap()
}

/// `(family, skill)` of the rows trained on `pct` percent.
fn trained_at(lb: &Leaderboard, pct: f64) -> BTreeSet<(String, String)> {
    lb.rows
        .iter()
        .filter(|r| r.sample_pct == pct && r.members.is_empty())
        .map(|r| {
            let family = r.blueprint.rsplit(" → ").next().unwrap().to_string();
            (family, r.params["skill"].clone())
        })
        .collect()
}

fn stage_events(events: &[Event]) -> Vec<(String, usize)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Stage { name, models } => Some((name.clone(), *models)),
            _ => None,
        })
        .collect()
}

fn skip_reasons(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Skipped { reason, .. } => Some(reason.clone()),
            _ => None,
        })
        .collect()
}

fn count_started(events: &[Event]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, Event::Started { .. }))
        .count()
}

/// The events of a fresh run are well ordered: a stage first; one model at a time, each
/// `Started` closed by its own `Finished` or `Failed` (or a time-limit stop) before anything else
/// happens; `Finished` without `Started` only for blenders; and every leaderboard row finished
/// exactly once.
fn assert_event_order(events: &[Event], lb: &Leaderboard) {
    assert!(
        matches!(events.first(), Some(Event::Stage { .. })),
        "the first event is not a stage: {:?}",
        events.first()
    );
    let mut open: Option<&str> = None;
    let mut finished: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, e) in events.iter().enumerate() {
        match e {
            Event::Stage { .. } => assert!(open.is_none(), "#{i} stage while {open:?} trains"),
            Event::Started { model_id, .. } => {
                assert!(
                    open.is_none(),
                    "#{i} {model_id} starts while {open:?} trains"
                );
                open = Some(model_id);
            }
            Event::Finished { model_id, .. } => {
                if open == Some(model_id.as_str()) {
                    open = None;
                } else {
                    assert!(
                        open.is_none(),
                        "#{i} {model_id} finishes while {open:?} trains"
                    );
                    let blender = lb.get(model_id).is_some_and(|r| !r.members.is_empty());
                    assert!(blender, "#{i} {model_id} finished without starting");
                }
                *finished.entry(model_id).or_default() += 1;
            }
            Event::Failed { model_id, .. } => {
                assert_eq!(open.take(), Some(model_id.as_str()), "#{i} failed")
            }
            Event::Skipped { reason, .. } => {
                if reason.starts_with("--time-limit reached after") {
                    assert!(open.take().is_some(), "#{i} stopped nothing: {reason}");
                } else {
                    assert!(open.is_none(), "#{i} skipped while {open:?} trains");
                }
            }
        }
    }
    assert!(open.is_none(), "{open:?} never ended");
    for r in &lb.rows {
        assert_eq!(
            finished.get(r.model_id.as_str()),
            Some(&1),
            "{} finished {:?} times",
            r.model_id,
            finished.get(r.model_id.as_str())
        );
    }
}

#[test]
fn full_mode_grows_the_sample_and_trains_fewer_survivors_each_stage() {
    // 2,600 rows in the folds: fold 0 trains on 2,080 (≥ 2,000), so three stages.
    let fx = Fixture::new(2_600, 100);
    let skills: Vec<(&str, f64)> = (0..12).map(|i| ("Alpha", 0.4 + 0.05 * i as f64)).collect();
    let (res, events, lb) = fx.run(options(Mode::Full), None, cands("stages", &skills));
    res.unwrap();
    assert_event_order(&events, &lb);

    let stages = stage_events(&events);
    let names: Vec<&str> = stages.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names[0], "stage 1 (16% sample)", "{names:?}");
    assert_eq!(names[1], "stage 2 (32% sample)", "{names:?}");
    assert_eq!(names[2], "stage 3 (64% sample)", "{names:?}");
    assert!(names[3].starts_with("cross-validation"), "{names:?}");
    assert!(names[4].starts_with("blenders of"), "{names:?}");
    assert_eq!(names.len(), 5, "{names:?}");
    // 12 candidates, then half of them, then at least 4.
    let models: Vec<usize> = stages.iter().map(|s| s.1).take(4).collect();
    assert_eq!(models, vec![12, 6, 4, 4]);

    // Rows per sample: fewer each stage, each a subset of the previous stage's, the best ones.
    let s16 = trained_at(&lb, 16.0);
    let s32 = trained_at(&lb, 32.0);
    let s64 = trained_at(&lb, 64.0);
    let cv = trained_at(&lb, 100.0);
    assert_eq!((s16.len(), s32.len(), s64.len(), cv.len()), (12, 6, 4, 4));
    assert!(s32.is_subset(&s16) && s64.is_subset(&s32) && cv == s64);
    // The best `n` by skill (the stage scores follow the skills).
    let best = |n: usize| -> BTreeSet<(String, String)> {
        let mut all: Vec<(String, String)> = s16.iter().cloned().collect();
        all.sort_by(|a, b| b.1.parse::<f64>().unwrap().total_cmp(&a.1.parse().unwrap()));
        all.into_iter().take(n).collect()
    };
    assert_eq!(s32, best(6));
    assert_eq!(s64, best(4));

    // The samples grow: each stage model trained on its share of fold 0's 2,080 training rows
    // (stratified, so within a row per class), the CV models on whole folds.
    let train0 = fx.partition.train_rows(0).len();
    assert_eq!(train0, 2_080);
    for r in lb.rows.iter().filter(|r| r.members.is_empty()) {
        let expected = r.sample_pct / 100.0 * train0 as f64;
        let n = n_train(r) as f64;
        assert!(
            (n - expected).abs() <= 3.0,
            "{}: {n} rows at {}%",
            r.model_id,
            r.sample_pct
        );
    }
    // Started events: sample percentages never decrease.
    let pcts: Vec<f64> = events
        .iter()
        .filter_map(|e| match e {
            Event::Started { sample_pct, .. } => Some(*sample_pct),
            _ => None,
        })
        .collect();
    assert!(pcts.windows(2).all(|w| w[0] <= w[1]), "{pcts:?}");
    // 12 + 6 + 4 stage fits, 4 models × 5 folds; blenders fit no estimator.
    assert_eq!(fits("stages"), 12 + 6 + 4 + 4 * 5);
    assert_eq!(lb.rows.iter().filter(|r| !r.members.is_empty()).count(), 3);
}

#[test]
fn quick_mode_runs_one_stage_then_cross_validates_the_best_four_and_blends() {
    let fx = Fixture::new(1_000, 100);
    let skills = [
        ("Alpha", 0.9),
        ("Alpha", 0.5),
        ("Alpha", 0.8),
        ("Alpha", 0.6),
        ("Alpha", 0.7),
        ("Alpha", 0.4),
    ];
    let (res, events, lb) = fx.run(options(Mode::Quick), None, cands("quick", &skills));
    res.unwrap();
    assert_event_order(&events, &lb);
    let stages = stage_events(&events);
    assert_eq!(stages[0], ("stage 1 (64% sample)".to_string(), 6));
    assert!(stages[1].0.starts_with("cross-validation"), "{stages:?}");
    assert_eq!(stages[1].1, 4);
    assert!(stages[2].0.starts_with("blenders of"), "{stages:?}");
    assert_eq!(stages.len(), 3, "{stages:?}");
    // The order within the stage: Stage, then Started, then Finished of the first model.
    let pos = |f: &dyn Fn(&Event) -> bool| events.iter().position(f).unwrap();
    let stage = pos(&|e| matches!(e, Event::Stage { .. }));
    let started = pos(&|e| matches!(e, Event::Started { .. }));
    let done = pos(&|e| matches!(e, Event::Finished { .. }));
    assert!(stage < started && started < done);

    assert_eq!(trained_at(&lb, 64.0).len(), 6);
    let cv: BTreeSet<String> = trained_at(&lb, 100.0).into_iter().map(|(_, s)| s).collect();
    let expected: BTreeSet<String> = ["0.9", "0.8", "0.7", "0.6"].map(String::from).into();
    assert_eq!(cv, expected);
    for r in lb.rows.iter().filter(|r| r.sample_pct == 100.0) {
        assert!(r.cv_mean.is_some() && r.holdout.is_some(), "{}", r.model_id);
    }
    assert_eq!(lb.rows.len(), 6 + 4 + 3);
    // The stage scores follow the skills: the fake is what the tests think it is.
    let mut stage_rows: Vec<&LeaderboardRow> =
        lb.rows.iter().filter(|r| r.sample_pct == 64.0).collect();
    stage_rows.sort_by(|a, b| skill(a).total_cmp(&skill(b)));
    let scores: Vec<f64> = stage_rows
        .iter()
        .map(|r| r.validation[&Metric::BalancedAccuracy])
        .collect();
    assert!(scores.windows(2).all(|w| w[0] < w[1]), "{scores:?}");
    assert_eq!(fits("quick"), 6 + 4 * 5);
}

#[test]
fn the_best_of_a_weak_family_survives_a_stage_and_its_worse_sibling_does_not() {
    let fx = Fixture::new(1_000, 100);
    // 8 scored at stage 1 (32%): the best 4 go on, and the best Beta besides them.
    let skills = [
        ("Alpha", 0.95),
        ("Alpha", 0.9),
        ("Alpha", 0.85),
        ("Alpha", 0.8),
        ("Alpha", 0.75),
        ("Alpha", 0.7),
        ("Beta", 0.35),
        ("Beta", 0.15),
    ];
    let (res, events, lb) = fx.run(options(Mode::Full), None, cands("survivors", &skills));
    res.unwrap();
    assert_event_order(&events, &lb);
    assert_eq!(trained_at(&lb, 32.0).len(), 8);
    let pair = |f: &str, s: &str| (f.to_string(), s.to_string());
    let stage2 = trained_at(&lb, 64.0);
    let expected: BTreeSet<(String, String)> = [
        pair("Alpha", "0.95"),
        pair("Alpha", "0.9"),
        pair("Alpha", "0.85"),
        pair("Alpha", "0.8"),
        pair("Beta", "0.35"),
    ]
    .into();
    assert_eq!(stage2, expected);
    // Cross-validation (Full: the best 8) takes every survivor of the last stage, Beta's too.
    assert_eq!(trained_at(&lb, 100.0), expected);
}

#[test]
fn the_time_limit_stops_starting_models_and_the_run_still_succeeds() {
    let fx = Fixture::new(250, 50);
    let candidates: Vec<Candidate> = (0..8)
        .map(|i| {
            let mut e = fake("Alpha", 0.5 + 0.05 * i as f64, "time");
            e.sleep_ms = 250;
            cand(e)
        })
        .collect();
    let mut o = options(Mode::Quick);
    o.time_limit_s = Some(1.2);
    let t0 = Instant::now();
    let (res, events, lb) = fx.run(o, None, candidates);
    let took = t0.elapsed().as_secs_f64();
    res.unwrap();
    assert_event_order(&events, &lb);
    let reasons = skip_reasons(&events);
    assert!(!reasons.is_empty());
    for r in &reasons {
        assert!(r.starts_with("--time-limit"), "{r}");
    }
    // Some models trained, not all 8 (8 × 0.25 s > 1.2 s); none after the first skip.
    assert!(
        !lb.rows.is_empty() && lb.rows.len() < 8,
        "{} rows",
        lb.rows.len()
    );
    let first_skip = events
        .iter()
        .position(|e| matches!(e, Event::Skipped { .. }))
        .unwrap();
    assert!(
        !events[first_skip..]
            .iter()
            .any(|e| matches!(e, Event::Started { .. })),
        "a model started after the limit"
    );
    assert_eq!(count_started(&events), lb.rows.len());
    assert_eq!(fits("time"), lb.rows.len());
    // Nothing was cross-validated: 5 folds of 0.25 s do not fit in what is left.
    assert!(lb.rows.iter().all(|r| r.sample_pct == 64.0));
    assert!(took < 1.2 + 0.25 + 1.0, "the run took {took:.2}s");
}

#[test]
fn with_start_counts_the_time_spent_before_the_run() {
    let fx = Fixture::new(250, 50);
    let mut o = options(Mode::Quick);
    o.time_limit_s = Some(5.0);
    let start = Instant::now().checked_sub(Duration::from_secs(6)).unwrap();
    let skills = [("Alpha", 0.9), ("Alpha", 0.8), ("Alpha", 0.7)];
    let (res, events, lb) = fx.run(o, Some(start), cands("with_start", &skills));
    res.unwrap();
    assert!(lb.rows.is_empty(), "{} rows", lb.rows.len());
    assert_eq!(count_started(&events), 0);
    assert_eq!(fits("with_start"), 0);
    let reasons = skip_reasons(&events);
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert!(
        reasons
            .iter()
            .all(|r| r.starts_with("--time-limit 5s: 6s used")),
        "{reasons:?}"
    );
}

#[test]
fn cross_validation_stopped_at_the_time_limit_is_not_recorded() {
    let fx = Fixture::new(250, 50);
    // Stage fits (128 rows) are instant; whole-fold fits (200 rows) take 0.8 s: the first CV
    // starts (~0.5 s expected) but its 5 folds, two at a time on a two-thread pool, cannot end
    // before the 1.3 s limit (the first stage model expects 1 s): it stops after the second wave.
    let candidates: Vec<Candidate> = [0.9, 0.8, 0.7]
        .iter()
        .map(|&s| {
            let mut e = fake("Alpha", s, "cv_stop");
            e.sleep_ms = 800;
            e.slow_above = 150;
            cand(e)
        })
        .collect();
    let mut o = options(Mode::Quick);
    o.time_limit_s = Some(1.3);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    let (res, events, lb) = pool.install(|| fx.run(o, None, candidates));
    res.unwrap();
    assert_event_order(&events, &lb);
    let reasons = skip_reasons(&events);
    assert!(
        reasons[0].starts_with("--time-limit reached after"),
        "{reasons:?}"
    );
    assert!(
        reasons[0].ends_with("stopped and not recorded"),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().all(|r| r.starts_with("--time-limit")),
        "{reasons:?}"
    );
    // The stage rows only; the stopped model has no row and no saved files.
    assert_eq!(lb.rows.len(), 3);
    assert!(
        lb.rows
            .iter()
            .all(|r| r.sample_pct == 64.0 && r.cv_mean.is_none())
    );
    let stopped = events
        .iter()
        .rev()
        .find_map(|e| match e {
            Event::Started { model_id, .. } => Some(model_id.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(stopped, "M4");
    let project = fx.project();
    assert!(
        project
            .load_json_opt::<serde_json::Value>("models/M4/model.json")
            .unwrap()
            .is_none()
    );
}

#[test]
fn max_models_caps_the_leaderboard_across_stages_cv_and_blenders() {
    let fx = Fixture::new(250, 50);
    let skills = [
        ("Alpha", 0.9),
        ("Alpha", 0.8),
        ("Alpha", 0.7),
        ("Alpha", 0.6),
        ("Alpha", 0.5),
        ("Alpha", 0.4),
    ];
    let mut o = options(Mode::Quick);
    // 6 stage models, then 2 of the 4 cross-validations; no blender.
    o.max_models = Some(8);
    let (res, events, lb) = fx.run(o, None, cands("max_models", &skills));
    res.unwrap();
    assert_event_order(&events, &lb);
    assert_eq!(lb.rows.len(), 8);
    assert_eq!(lb.rows.iter().filter(|r| r.cv_mean.is_some()).count(), 2);
    assert!(lb.rows.iter().all(|r| r.members.is_empty()));
    let reasons = skip_reasons(&events);
    // Two cross-validations and three blenders not started.
    assert_eq!(reasons.len(), 5, "{reasons:?}");
    assert!(
        reasons.iter().all(|r| r == "--max-models 8 reached"),
        "{reasons:?}"
    );
    assert_eq!(fits("max_models"), 6 + 2 * 5);
}

/// The leaderboard without what varies between runs (timings).
fn untimed(lb: &Leaderboard) -> Leaderboard {
    let mut lb = lb.clone();
    for r in &mut lb.rows {
        r.fit_seconds = 0.0;
        r.predict_seconds_per_1000 = 0.0;
    }
    lb
}

#[test]
fn a_second_run_on_the_same_project_trains_nothing_and_keeps_the_leaderboard() {
    let fx = Fixture::new(250, 50);
    let skills = [
        ("Alpha", 0.9),
        ("Alpha", 0.8),
        ("Beta", 0.7),
        ("Alpha", 0.6),
        ("Beta", 0.5),
        ("Alpha", 0.4),
    ];
    let (res, events, first) = fx.run(options(Mode::Full), None, cands("resume", &skills));
    res.unwrap();
    assert_event_order(&events, &first);
    let fitted = fits("resume");
    assert!(fitted > 0);
    assert!(
        first.rows.iter().any(|r| !r.members.is_empty()),
        "no blender"
    );

    let (res, events, second) = fx.run(options(Mode::Full), None, cands("resume", &skills));
    res.unwrap();
    assert_eq!(fits("resume"), fitted, "the resumed run fitted again");
    assert_eq!(count_started(&events), 0);
    assert!(
        !events.iter().any(|e| matches!(e, Event::Finished { .. })),
        "{events:?}"
    );
    assert_eq!(untimed(&second), untimed(&first));
    // What is on disk too.
    let saved: Leaderboard = fx
        .project()
        .load_json(crate::project::LEADERBOARD_FILE)
        .unwrap();
    assert_eq!(untimed(&saved), untimed(&first));
}

#[test]
fn an_interrupted_run_resumes_where_it_stopped() {
    let skills = [
        ("Alpha", 0.9),
        ("Alpha", 0.8),
        ("Beta", 0.7),
        ("Alpha", 0.6),
        ("Beta", 0.5),
        ("Alpha", 0.4),
    ];
    // Uninterrupted: 6 + 4 stage models, 4 cross-validated, 3 blenders.
    let whole = Fixture::new(250, 50);
    let (res, _, reference) = whole.run(options(Mode::Full), None, cands("whole", &skills));
    res.unwrap();
    assert_eq!(reference.rows.len(), 17);
    // Stopped (as by a kill between two models) in the second stage, and after the first
    // blender (the others must blend the reloaded cross-validation results); then run again.
    for cut in [8, 15] {
        let tag = format!("interrupted after {cut}");
        let fx = Fixture::new(250, 50);
        let mut o = options(Mode::Full);
        o.max_models = Some(cut);
        let (res, _, partial) = fx.run(o, None, cands(&tag, &skills));
        res.unwrap();
        assert_eq!(partial.rows.len(), cut);
        let (res, events, resumed) = fx.run(options(Mode::Full), None, cands(&tag, &skills));
        res.unwrap();
        // The second run trains (and finishes) only the models the first did not.
        let finished: Vec<&str> = events
            .iter()
            .filter_map(|e| match e {
                Event::Finished { model_id, .. } => Some(model_id.as_str()),
                _ => None,
            })
            .collect();
        let missing: Vec<&str> = resumed.rows[cut..]
            .iter()
            .map(|r| r.model_id.as_str())
            .collect();
        assert_eq!(finished, missing, "cut at {cut}");
        assert_eq!(fits(&tag), fits("whole"), "cut at {cut}");
        assert_eq!(untimed(&resumed), untimed(&reference), "cut at {cut}");
    }
}

/// (blueprint, error) of each failure event.
fn failures(events: &[Event]) -> Vec<(String, String)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Failed {
                blueprint, error, ..
            } => Some((blueprint.clone(), error.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn a_failing_fit_is_reported_and_the_run_goes_on() {
    let fx = Fixture::new(250, 50);
    let mut broken = fake("Broken", 0.99, "failing");
    broken.fail_above = Some(0);
    // Fits at the stage (128 rows), fails on whole folds (200 rows).
    let mut fragile = fake("Fragile", 0.98, "failing");
    fragile.fail_above = Some(150);
    let mut candidates = cands("failing", &[("Alpha", 0.9), ("Alpha", 0.8), ("Alpha", 0.7)]);
    candidates.insert(1, cand(broken));
    candidates.insert(3, cand(fragile));
    let (res, events, lb) = fx.run(options(Mode::Quick), None, candidates);
    res.unwrap();
    assert_event_order(&events, &lb);
    let failed = failures(&events);
    assert_eq!(failed.len(), 2, "{failed:?}");
    assert_eq!(failed[0].0, "1 tabular → Broken");
    assert!(
        failed[0].1.contains("Broken is configured to fail"),
        "{failed:?}"
    );
    assert_eq!(failed[1].0, "1 tabular → Fragile");
    assert!(
        failed[1].1.contains("configured to fail on 200 rows"),
        "{failed:?}"
    );
    // Broken has no row; Fragile only its stage row; the others went on to CV and blenders.
    assert!(lb.rows.iter().all(|r| !r.blueprint.ends_with("Broken")));
    let fragile_rows: Vec<&LeaderboardRow> = lb
        .rows
        .iter()
        .filter(|r| r.blueprint.ends_with("Fragile"))
        .collect();
    assert_eq!(fragile_rows.len(), 1);
    assert_eq!(fragile_rows[0].sample_pct, 64.0);
    assert_eq!(trained_at(&lb, 64.0).len(), 4);
    assert_eq!(trained_at(&lb, 100.0).len(), 3);
    assert_eq!(lb.rows.iter().filter(|r| !r.members.is_empty()).count(), 3);
}

/// Blenders refuse a member's negative probabilities: each blender fails alone, its error naming
/// its members in order, and the run goes on and succeeds.
#[test]
fn a_failing_blender_fails_alone_and_names_its_members() {
    let fx = Fixture::new(250, 50);
    let mut odd = fake("Odd", 0.95, "blend-fail");
    odd.negative = true;
    let mut candidates = cands("blend-fail", &[("Alpha", 0.9), ("Alpha", 0.8)]);
    candidates.insert(0, cand(odd));
    let (res, events, lb) = fx.run(options(Mode::Quick), None, candidates);
    res.unwrap();
    let failed = failures(&events);
    assert_eq!(failed.len(), 3, "{failed:?}");
    for (blueprint, error) in &failed {
        assert!(blueprint.contains(" of M"), "{blueprint}");
        assert!(error.contains("(members from 0: M"), "{error}");
    }
    assert!(lb.rows.iter().all(|r| r.members.is_empty()));
    assert_eq!(trained_at(&lb, 100.0).len(), 3);
}

#[test]
fn the_best_image_blueprint_is_retuned_with_every_other_backbone_and_blended() {
    let fx = Fixture::new(250, 50);
    let image = |s: f64| Candidate {
        feature_list: "image".into(),
        blocks: vec![BlockSpec::Image(image_key("bb1"))],
        estimator: Box::new(fake("Alpha", s, "retune")),
        search_text: false,
    };
    let mut o = options(Mode::Quick);
    // bb3 has no features: skipped.
    o.backbones = ["bb1", "bb2", "bb3"].map(String::from).to_vec();
    let (res, events, lb) = fx.run(o, None, vec![image(0.6), image(0.9), image(0.75)]);
    res.unwrap();
    assert_event_order(&events, &lb);
    let best = lb
        .rows
        .iter()
        .filter(|r| r.sample_pct == 100.0 && r.params["skill"] == "0.9")
        .map(|r| r.model_id.clone())
        .next()
        .unwrap();
    let stages = stage_events(&events);
    assert!(
        stages.contains(&(format!("retune {best} with other backbones"), 2)),
        "{stages:?}"
    );
    let retuned: Vec<&LeaderboardRow> = lb
        .rows
        .iter()
        .filter(|r| r.parent.as_deref() == Some(&best))
        .collect();
    assert_eq!(retuned.len(), 1);
    assert!(
        retuned[0].blueprint.starts_with("bb2 (high)"),
        "{}",
        retuned[0].blueprint
    );
    assert!(retuned[0].key.contains("bb2 (high)"), "{}", retuned[0].key);
    assert!(retuned[0].cv_mean.is_some());
    assert!(
        skip_reasons(&events).contains(&"no image features for bb3".to_string()),
        "{events:?}"
    );
    // The ensemble selection chooses among all four cross-validated models, the retune too.
    let pool = lb
        .rows
        .iter()
        .find(|r| r.members.len() == 4)
        .expect("a blender over 4 models");
    assert!(pool.members.contains(&retuned[0].model_id));
    // The blenders come last.
    assert!(
        stages.last().unwrap().0.starts_with("blenders of"),
        "{stages:?}"
    );
}

#[test]
fn the_runner_up_estimator_family_gets_its_own_backbone_retune() {
    let fx = Fixture::new(250, 50);
    let image = |name: &str, s: f64| Candidate {
        feature_list: "image".into(),
        blocks: vec![BlockSpec::Image(image_key("bb1"))],
        estimator: Box::new(fake(name, s, "retune2")),
        search_text: false,
    };
    let mut o = options(Mode::Quick);
    o.backbones = ["bb1", "bb2"].map(String::from).to_vec();
    let candidates = vec![
        image("Alpha", 0.9),
        image("Alpha", 0.85),
        image("Beta", 0.8),
        image("Gamma", 0.7),
    ];
    let (res, events, lb) = fx.run(o, None, candidates);
    res.unwrap();
    assert_event_order(&events, &lb);
    let cv_id = |name: &str, skill: &str| {
        lb.rows
            .iter()
            .find(|r| {
                r.sample_pct == 100.0
                    && r.parent.is_none()
                    && r.blueprint.ends_with(name)
                    && r.params["skill"] == skill
            })
            .map(|r| r.model_id.clone())
            .expect("cross-validated")
    };
    let (alpha, beta) = (cv_id("Alpha", "0.9"), cv_id("Beta", "0.8"));
    let stages = stage_events(&events);
    for parent in [&alpha, &beta] {
        assert!(
            stages.contains(&(format!("retune {parent} with other backbones"), 1)),
            "{stages:?}"
        );
        let children: Vec<&LeaderboardRow> = lb
            .rows
            .iter()
            .filter(|r| r.parent.as_deref() == Some(parent.as_str()))
            .collect();
        assert_eq!(children.len(), 1, "{parent}");
        assert!(children[0].blueprint.starts_with("bb2 (high)"));
    }
    // Only the two best families: the third keeps its backbone, the second Alpha too.
    let retunes = stages
        .iter()
        .filter(|(n, _)| n.starts_with("retune "))
        .count();
    assert_eq!(retunes, 2, "{stages:?}");
}

#[test]
fn train_derived_trains_a_key_once() {
    let fx = Fixture::new(250, 50);
    let project = fx.project();
    let events = Rc::new(RefCell::new(Vec::new()));
    let mut ap = fx.autopilot(&project, options(Mode::Quick), events.clone());
    ap.run(cands("derived", &[("Alpha", 0.9), ("Alpha", 0.8)]))
        .unwrap();
    let parent = ap
        .leaderboard()
        .rows
        .iter()
        .find(|r| r.sample_pct == 100.0 && r.params["skill"] == "0.9")
        .unwrap()
        .model_id
        .clone();
    let before = fits("derived");
    let tuned = cand(fake("Alpha", 0.95, "derived"));
    let id = ap
        .train_derived(&tuned, &parent, "tune|skill=0.95")
        .unwrap();
    assert_eq!(fits("derived"), before + 5);
    let row = ap.leaderboard().get(&id).unwrap().clone();
    assert_eq!(row.parent.as_deref(), Some(parent.as_str()));
    assert_eq!(row.params["skill"], "0.95");
    assert!(row.cv_mean.is_some());
    // The same key again: the same model, no fit.
    let again = ap
        .train_derived(&tuned, &parent, "tune|skill=0.95")
        .unwrap();
    assert_eq!(again, id);
    assert_eq!(fits("derived"), before + 5);
    // Beyond the model limit: an error, nothing trained.
    let rows = ap.leaderboard().rows.len();
    ap.options.max_models = Some(rows);
    let err = ap
        .train_derived(
            &cand(fake("Alpha", 0.97, "derived")),
            &parent,
            "tune|skill=0.97",
        )
        .unwrap_err();
    assert!(err.to_string().contains("not started"), "{err:#}");
    assert_eq!(ap.leaderboard().rows.len(), rows);
    assert_eq!(fits("derived"), before + 5);
}

#[test]
fn comprehensive_mode_keeps_every_model_through_the_stages_and_cross_validates_all() {
    let fx = Fixture::new(250, 50);
    let skills = [
        ("Alpha", 0.9),
        ("Alpha", 0.8),
        ("Alpha", 0.7),
        ("Alpha", 0.6),
        ("Alpha", 0.5),
        ("Beta", 0.4),
        ("Beta", 0.3),
    ];
    let (res, events, lb) = fx.run(options(Mode::Comprehensive), None, cands("all", &skills));
    res.unwrap();
    assert_event_order(&events, &lb);
    let models: Vec<usize> = stage_events(&events).iter().map(|s| s.1).take(3).collect();
    assert_eq!(models, vec![7, 7, 7]);
    let s32 = trained_at(&lb, 32.0);
    assert_eq!(s32.len(), 7);
    assert_eq!(trained_at(&lb, 64.0), s32);
    assert_eq!(trained_at(&lb, 100.0), s32);
    assert_eq!(fits("all"), 7 + 7 + 7 * 5);
}

#[test]
fn the_fine_tuned_cnn_reads_the_image_only_trunk_and_follows_the_backbone() {
    use super::candidates::{feature_lists, fine_tune_candidate};
    use crate::dataset::Task;
    use neural::DeviceChoice;
    let f = Fixture::new(30, 0);
    let both = ["x".to_string(), "img".to_string()];
    let lists = feature_lists(&f.ds, &both, &[]);
    let task = Task::of_classes(3);
    let c = fine_tune_candidate(&f.ds, &lists, "mobilenet-v2", 1, task, DeviceChoice::Cpu).unwrap();
    assert_eq!(c.feature_list, "image only");
    assert!(c.is_fine_tuned());
    assert_eq!(c.image_keys()[0].levels, vec!["trunk".to_string()]);
    assert!(
        c.describe().contains("(trunk) → Fine-tuned CNN"),
        "{}",
        c.describe()
    );
    // A backbone retune or `tune --set backbone=` moves the estimator's pretrained tail too.
    let moved = c.with_backbone("efficientnet-lite0").unwrap();
    let json = serde_json::to_string(&moved.estimator).unwrap();
    assert!(
        json.contains(r#""backbone":"efficientnet-lite0""#),
        "{json}"
    );
    assert!(json.contains(r#""device":"cpu""#), "{json}");
    assert!(c.with_backbone("no-such-net").is_err());
    // Two stages read the deeper trunk, three the one below it; a fourth is not offered.
    let deeper =
        fine_tune_candidate(&f.ds, &lists, "mobilenet-v2", 2, task, DeviceChoice::Cpu).unwrap();
    assert_eq!(deeper.image_keys()[0].levels, vec!["trunk2".to_string()]);
    assert!(deeper.is_fine_tuned());
    assert_ne!(deeper.describe(), c.describe());
    let deepest =
        fine_tune_candidate(&f.ds, &lists, "mobilenet-v2", 3, task, DeviceChoice::Cpu).unwrap();
    assert_eq!(deepest.image_keys()[0].levels, vec!["trunk3".to_string()]);
    assert!(
        fine_tune_candidate(&f.ds, &lists, "mobilenet-v2", 4, task, DeviceChoice::Cpu).is_none()
    );
    // The bottleneck ResNet's last stage too, on its own trunk.
    let resnet =
        fine_tune_candidate(&f.ds, &lists, "resnet50-1by2", 1, task, DeviceChoice::Cpu).unwrap();
    assert_eq!(resnet.image_keys()[0].backbone, "resnet50-1by2");
    assert_eq!(resnet.image_keys()[0].levels, vec!["trunk".to_string()]);
    assert!(c.with_backbone("resnet50-1by2").is_ok());
    // Not for regression, nor without an image column.
    assert!(
        fine_tune_candidate(
            &f.ds,
            &lists,
            "mobilenet-v2",
            1,
            Task::Regression,
            DeviceChoice::Cpu
        )
        .is_none()
    );
    let no_image = feature_lists(&f.ds, &both[..1], &[]);
    assert!(
        fine_tune_candidate(&f.ds, &no_image, "mobilenet-v2", 1, task, DeviceChoice::Cpu).is_none()
    );
}
