//! The autopilot's schedule: stages, cross-validation, blenders, backbone retuning.

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use blueprints::blend::{Blender, EnsembleSelection, GlmStacker, MeanBlender};
use blueprints::metrics::Metric;

use super::blend::cross_validate_blend;
use super::evaluate::{CvOutcome, CvResult, cross_validate_until, fit_fold, sample_rows};
use crate::dataset::Target;
use crate::features::FeatureInputs;
use crate::leaderboard::{Leaderboard, LeaderboardRow, Scores, Threshold, score_all};
use crate::model::Candidate;
use crate::partition::Partition;
use crate::project::Project;
use crate::store::{self, SavedModel};

/// How much autopilot tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// One stage, the best 4 cross-validated, two blenders.
    Quick,
    /// Growing samples, the best 8 cross-validated.
    Full,
    /// Every blueprint cross-validated.
    Comprehensive,
}

/// Settings of one autopilot run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AutopilotOptions {
    /// Effort level.
    pub mode: Mode,
    /// Stop starting new models after this many leaderboard rows.
    pub max_models: Option<usize>,
    /// Do not start a model that would end after this many seconds from the start.
    pub time_limit_s: Option<f64>,
    /// Seed of every random choice.
    pub seed: u64,
    /// Image backbones: the first is used for the catalogue, the others for retuning.
    pub backbones: Vec<String>,
}

/// Progress events, for progress bars and the JSON event log.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A stage begins.
    Stage { name: String, models: usize },
    /// A model starts training.
    Started {
        model_id: String,
        blueprint: String,
        sample_pct: f64,
        /// Seconds one fit may take (an upper bound measured up front), for estimators slow
        /// enough to say so (the fine-tuned CNN).
        #[serde(skip_serializing_if = "Option::is_none")]
        fit_estimate_s: Option<f64>,
    },
    /// A model finished and was saved.
    Finished {
        model_id: String,
        score: Option<f64>,
        seconds: f64,
    },
    /// A model failed; the run goes on.
    Failed {
        model_id: String,
        blueprint: String,
        error: String,
    },
    /// A model was not started (time limit or model limit).
    Skipped { blueprint: String, reason: String },
}

impl Event {
    /// Whether a [`Event::Skipped`] reason is the time limit (those reasons start with the
    /// option's name).
    pub fn is_time_skip(reason: &str) -> bool {
        reason.starts_with("--time-limit")
    }
}

/// Everything an autopilot run needs, borrowed from the caller.
pub struct Autopilot<'a> {
    /// Where results go.
    pub project: &'a Project,
    /// Dataset and image features.
    pub inputs: FeatureInputs<'a>,
    /// The target: task, classes and true values.
    pub target: &'a Target,
    /// Folds and holdout.
    pub partition: &'a Partition,
    /// Run settings.
    pub options: AutopilotOptions,
    /// Progress callback.
    pub on_event: Box<dyn FnMut(&Event) + 'a>,
    started: Instant,
    leaderboard: Leaderboard,
    cv_results: BTreeMap<String, CvResult>,
}

/// Most cross-validated models (the best by CV) that ensemble selection chooses from.
const ENSEMBLE_POOL: usize = 8;

/// Name of the feature list built from Feature Impact.
pub const REDUCED_LIST: &str = "Reduced";
/// Share of the total Feature Impact the "Reduced" list keeps.
pub const REDUCED_SHARE: f64 = 0.95;

impl<'a> Autopilot<'a> {
    /// Prepares a run; the existing leaderboard (if any) is loaded so finished models are kept.
    pub fn new(
        project: &'a Project,
        inputs: FeatureInputs<'a>,
        target: &'a Target,
        partition: &'a Partition,
        options: AutopilotOptions,
        on_event: Box<dyn FnMut(&Event) + 'a>,
    ) -> anyhow::Result<Self> {
        let leaderboard = store::leaderboard(project)?;
        Ok(Self {
            project,
            inputs,
            target,
            partition,
            options,
            on_event,
            started: Instant::now(),
            leaderboard,
            cv_results: BTreeMap::new(),
        })
    }

    /// Counts the time limit from `start` (e.g. when the command began, so that loading and
    /// featurization count) instead of from [`Autopilot::new`].
    pub fn with_start(mut self, start: Instant) -> Self {
        self.started = start;
        self
    }

    /// The leaderboard as it stands.
    pub fn leaderboard(&self) -> &Leaderboard {
        &self.leaderboard
    }

    /// The metric models are ranked by (the task's).
    fn metric(&self) -> Metric {
        self.target.task.metric()
    }

    /// `scores`' value of the ranking metric, oriented so that higher is better; −∞ when it is
    /// absent or not a number (a diverged model ranks last, never first).
    fn goodness(&self, scores: Option<&Scores>) -> f64 {
        let m = self.metric();
        scores
            .and_then(|s| s.get(&m))
            .map(|&v| m.oriented(v))
            .filter(|v| !v.is_nan())
            .unwrap_or(f64::NEG_INFINITY)
    }

    fn emit(&mut self, e: Event) {
        (self.on_event)(&e);
    }

    /// Whether another model may start, given the limits; emits a `Skipped` event when not.
    fn may_start(&mut self, blueprint: &str, expected_s: f64) -> bool {
        if let Some(max) = self.options.max_models
            && self.leaderboard.rows.len() >= max
        {
            self.emit(Event::Skipped {
                blueprint: blueprint.into(),
                reason: format!("--max-models {max} reached"),
            });
            return false;
        }
        if let Some(limit) = self.options.time_limit_s {
            let t = self.started.elapsed().as_secs_f64();
            if t + expected_s > limit {
                self.emit(Event::Skipped {
                    blueprint: blueprint.into(),
                    reason: format!(
                        "--time-limit {limit:.0}s: {t:.0}s used, ~{expected_s:.0}s needed"
                    ),
                });
                return false;
            }
        }
        true
    }

    /// The estimator's own up-front estimate of one fit on `rows` rows, if it gives one.
    fn fit_estimate(&self, c: &Candidate, rows: usize) -> Option<f64> {
        let classes = self.target.classes.len().max(1);
        c.estimator.estimate_fit_seconds(rows, classes)
    }

    fn key(c: &Candidate, pct: f64, tag: &str) -> String {
        let params: Vec<String> = c
            .estimator
            .params()
            .iter()
            .map(|p| format!("{}={}", p.name, p.value))
            .collect();
        let text = if c.search_text { "|tfidf searched" } else { "" };
        format!(
            "{tag}|{}|{}|{}|{pct}{text}",
            c.feature_list,
            c.signature(),
            params.join(",")
        )
    }

    fn save_row(&mut self, row: LeaderboardRow) -> anyhow::Result<()> {
        self.leaderboard.upsert(row);
        store::save_leaderboard(self.project, &self.leaderboard)?;
        Ok(())
    }

    /// Runs the whole schedule over `catalogue`.
    pub fn run(&mut self, catalogue: Vec<Candidate>) -> anyhow::Result<()> {
        let train0 = self.partition.train_rows(0);
        let valid0 = self.partition.valid_rows(0);
        let stages: Vec<f64> = match self.options.mode {
            Mode::Quick => vec![64.0],
            _ if train0.len() < 2_000 => vec![32.0, 64.0],
            _ => vec![16.0, 32.0, 64.0],
        };
        let mut alive: Vec<Candidate> = catalogue;
        let mut last_seconds = 1.0;
        for (si, &pct) in stages.iter().enumerate() {
            self.emit(Event::Stage {
                name: format!("stage {} ({pct}% sample)", si + 1),
                models: alive.len(),
            });
            let rows = sample_rows(
                &train0,
                &self.target.labels,
                pct,
                self.options.seed.wrapping_add(si as u64),
            );
            let mut scored: Vec<(f64, Candidate)> = Vec::new();
            for c in alive {
                let key = Self::key(&c, pct, "stage");
                if let Some(row) = self.leaderboard.by_key(&key) {
                    scored.push((self.goodness(Some(&row.validation)), c));
                    continue;
                }
                let estimate = self.fit_estimate(&c, rows.len());
                if !self.may_start(&c.describe(), estimate.unwrap_or(0.0).max(last_seconds)) {
                    continue;
                }
                let id = self.leaderboard.next_model_id();
                self.emit(Event::Started {
                    model_id: id.clone(),
                    blueprint: c.describe(),
                    sample_pct: pct,
                    fit_estimate_s: estimate,
                });
                match fit_fold(
                    &c,
                    &self.inputs,
                    self.target,
                    &rows,
                    &valid0,
                    self.options.seed,
                ) {
                    Ok(fit) => {
                        let scores =
                            score_all(self.target.rows(&valid0).truth(), fit.valid_proba.view());
                        let s = scores.get(&self.metric()).copied().unwrap_or(f64::NAN);
                        let good = self.goodness(Some(&scores));
                        last_seconds = fit.fit_seconds + fit.predict_seconds;
                        let mut row = self.new_row(&id, &key, &c, pct);
                        row.record_search(std::slice::from_ref(&fit.model), c.search_text);
                        row.validation = scores;
                        row.fit_seconds = fit.fit_seconds;
                        row.predict_seconds_per_1000 =
                            fit.predict_seconds / valid0.len().max(1) as f64 * 1000.0;
                        self.save_row(row)?;
                        self.emit(Event::Finished {
                            model_id: id,
                            score: Some(s),
                            seconds: last_seconds,
                        });
                        scored.push((good, c));
                    }
                    Err(e) => {
                        self.emit(Event::Failed {
                            model_id: id,
                            blueprint: c.describe(),
                            error: format!("{e:#}"),
                        });
                    }
                }
            }
            alive = if si + 1 == stages.len() || self.options.mode == Mode::Comprehensive {
                scored.sort_by(|a, b| b.0.total_cmp(&a.0));
                scored.into_iter().map(|(_, c)| c).collect()
            } else {
                let keep = (scored.len() / 2).max(4);
                survivors(scored, keep)
            };
        }
        let n_cv = match self.options.mode {
            Mode::Quick => 4,
            Mode::Full => 8,
            Mode::Comprehensive => usize::MAX,
        };
        let ranked: Vec<(f64, Candidate)> = alive
            .into_iter()
            .enumerate()
            .map(|(i, c)| (-(i as f64), c))
            .collect();
        let survivors: Vec<Candidate> = survivors(ranked, n_cv);
        self.emit(Event::Stage {
            name: "cross-validation (100% of each fold)".into(),
            models: survivors.len(),
        });
        let mut cv_done: Vec<(String, Candidate)> = Vec::new();
        for c in survivors {
            if let Some(id) = self.cross_validate_candidate(&c, None)? {
                cv_done.push((id, c));
            }
        }
        // Blend last, over every cross-validated model: a retune on another backbone or the
        // Reduced list can be among the best, and brings the blend a different view.
        let retuned = self.retune_backbones(&cv_done)?;
        let reduced = self.reduced_feature_list(&cv_done)?;
        cv_done.extend(retuned);
        cv_done.extend(reduced);
        self.blend_top(&cv_done)?;
        Ok(())
    }

    /// The last stage: Feature Impact (out-of-fold permutation importance per input column) of
    /// the best cross-validated blueprint, a "Reduced" feature list of the columns that make up
    /// [`REDUCED_SHARE`] of the total impact (at least one, fewer than all), and that blueprint
    /// retrained on it (a row whose parent is the best model).
    fn reduced_feature_list(
        &mut self,
        cv_done: &[(String, Candidate)],
    ) -> anyhow::Result<Option<(String, Candidate)>> {
        let Some((parent, best)) = self.best_cross_validated(cv_done, |_| true) else {
            return Ok(None);
        };
        let n_inputs = best.blocks.len();
        if n_inputs < 2 {
            return Ok(None);
        }
        let key = format!("reduced|{parent}");
        if let Some(row) = self.leaderboard.by_key(&key) {
            // Trained before this resume: reload it, so the blenders see the same models.
            let saved = store::saved_model(self.project, &row.model_id)?;
            return Ok(
                match self.cross_validate_keyed(&saved.candidate, &key, None)? {
                    CvStatus::Done(id) => Some((id, saved.candidate)),
                    _ => None,
                },
            );
        }
        if !self.may_start(&format!("Reduced feature list of {parent}"), 1.0) {
            return Ok(None);
        }
        self.emit(Event::Stage {
            name: format!("feature impact of {parent}, then the Reduced feature list"),
            models: 1,
        });
        let saved = store::saved_model(self.project, &parent)?;
        let options = crate::model::importance::FeatureImpactOptions {
            seed: self.options.seed,
            ..Default::default()
        };
        let impact = crate::model::importance::permutation_impact_cv(
            &saved.folds,
            &self.inputs,
            self.target,
            self.partition,
            &options,
        )
        .with_context(|| format!("feature impact of {parent}"))?;
        let columns = impact.reduced(REDUCED_SHARE, n_inputs - 1);
        if columns.is_empty() {
            self.emit(Event::Skipped {
                blueprint: best.describe(),
                reason: format!("no column of {parent} has a positive impact: no Reduced list"),
            });
            return Ok(None);
        }
        let list = crate::model::FeatureList {
            name: REDUCED_LIST.to_string(),
            columns: columns.clone(),
        };
        store::save_feature_lists(self.project, std::slice::from_ref(&list))?;
        let mut c = best.clone();
        c.feature_list = REDUCED_LIST.to_string();
        c.blocks
            .retain(|b| columns.iter().any(|col| col == b.column()));
        match self.cross_validate_keyed(&c, &key, Some(parent.clone()))? {
            CvStatus::Done(id) => return Ok(Some((id, c))),
            // A failure was reported as an `Event::Failed` when it happened.
            CvStatus::NotStarted | CvStatus::Stopped | CvStatus::Failed(_) => {}
        }
        Ok(None)
    }

    /// The cross-validated model of `cv_done` with the best CV mean among those `keep` accepts
    /// (the first of equal scores, as the leaderboard ranks them).
    fn best_cross_validated(
        &self,
        cv_done: &[(String, Candidate)],
        keep: impl Fn(&Candidate) -> bool,
    ) -> Option<(String, Candidate)> {
        let mut best: Option<(&String, &Candidate, f64)> = None;
        for (id, c) in cv_done.iter().filter(|(_, c)| keep(c)) {
            let Some(r) = self.leaderboard.get(id) else {
                continue;
            };
            let s = self.goodness(r.cv_mean.as_ref());
            if !s.is_finite() {
                continue;
            }
            if best.is_none_or(|(_, _, b)| s > b) {
                best = Some((id, c, s));
            }
        }
        best.map(|(id, c, _)| (id.clone(), c.clone()))
    }

    fn new_row(&self, id: &str, key: &str, c: &Candidate, pct: f64) -> LeaderboardRow {
        let mut row = LeaderboardRow::new(id, &c.describe(), &c.feature_list);
        row.key = key.to_string();
        row.sample_pct = pct;
        row.params = super::tuning::tunable_params_for(c, &[], self.target.task)
            .into_iter()
            .map(|p| (p.name, p.value))
            .collect();
        row
    }

    /// Cross-validates `c` (unless already done) and saves its row and fold models; returns the model id.
    fn cross_validate_candidate(
        &mut self,
        c: &Candidate,
        parent: Option<String>,
    ) -> anyhow::Result<Option<String>> {
        let key = Self::key(c, 100.0, "cv");
        match self.cross_validate_keyed(c, &key, parent)? {
            CvStatus::Done(id) => Ok(Some(id)),
            CvStatus::NotStarted | CvStatus::Stopped | CvStatus::Failed(_) => Ok(None),
        }
    }

    /// Cross-validates a blueprint derived from model `parent` (advanced tuning, a reduced
    /// feature list ...) on the project's folds and holdout, saves it and returns its model id.
    /// `key` identifies the derivation: asking again for the same key returns the existing model.
    /// Errors when the training fails or the limits stop it.
    pub fn train_derived(
        &mut self,
        c: &Candidate,
        parent: &str,
        key: &str,
    ) -> anyhow::Result<String> {
        match self.cross_validate_keyed(c, key, Some(parent.to_string()))? {
            CvStatus::Done(id) => Ok(id),
            CvStatus::NotStarted => {
                anyhow::bail!("not started: the model or time limit is reached")
            }
            CvStatus::Stopped => anyhow::bail!("stopped at the time limit; nothing was recorded"),
            CvStatus::Failed(e) => anyhow::bail!("training {} failed: {e}", c.describe()),
        }
    }

    fn cross_validate_keyed(
        &mut self,
        c: &Candidate,
        key: &str,
        parent: Option<String>,
    ) -> anyhow::Result<CvStatus> {
        let key = key.to_string();
        if let Some(row) = self.leaderboard.by_key(&key) {
            let id = row.model_id.clone();
            if let Some(res) = self.load_cv(&id)? {
                self.cv_results.insert(id.clone(), res);
            }
            return Ok(CvStatus::Done(id));
        }
        let estimate = self.fit_estimate(c, self.partition.train_rows(0).len());
        let expected = self
            .leaderboard
            .rows
            .iter()
            .map(|r| r.fit_seconds)
            .fold(estimate.unwrap_or(0.1), f64::max)
            * self.partition.k as f64;
        if !self.may_start(&c.describe(), expected) {
            return Ok(CvStatus::NotStarted);
        }
        let id = self.leaderboard.next_model_id();
        self.emit(Event::Started {
            model_id: id.clone(),
            blueprint: c.describe(),
            sample_pct: 100.0,
            fit_estimate_s: estimate,
        });
        let t0 = Instant::now();
        let deadline = self.options.time_limit_s;
        let started = self.started;
        let stop = move || deadline.is_some_and(|l| started.elapsed().as_secs_f64() > l);
        let res = match cross_validate_until(
            c,
            &self.inputs,
            self.target,
            self.partition,
            self.options.seed,
            &stop,
        ) {
            Ok(CvOutcome::Finished(r)) => *r,
            Ok(CvOutcome::Stopped { folds_done }) => {
                self.emit(Event::Skipped {
                    blueprint: c.describe(),
                    reason: format!(
                        "--time-limit reached after {folds_done} of {} folds; {id} stopped and not recorded",
                        self.partition.k
                    ),
                });
                return Ok(CvStatus::Stopped);
            }
            Err(e) => {
                let error = format!("{e:#}");
                self.emit(Event::Failed {
                    model_id: id,
                    blueprint: c.describe(),
                    error: error.clone(),
                });
                return Ok(CvStatus::Failed(error));
            }
        };
        self.save_cv(&id, c, &res)?;
        let mut row = self.new_row(&id, &key, c, 100.0);
        row.record_search(&res.models, c.search_text);
        row.parent = parent;
        self.fill_cv(&mut row, &res.fold_scores, res.holdout_scores.clone());
        row.fit_seconds = res.fit_seconds;
        row.predict_seconds_per_1000 = res.predict_seconds_per_1000;
        row.threshold = Threshold::choose(self.target, res.oof.view(), &self.partition.cv_rows());
        let score = row.rank_score(self.metric());
        self.save_row(row)?;
        self.emit(Event::Finished {
            model_id: id.clone(),
            score,
            seconds: t0.elapsed().as_secs_f64(),
        });
        self.cv_results.insert(id.clone(), res);
        Ok(CvStatus::Done(id))
    }

    fn fill_cv(&self, row: &mut LeaderboardRow, folds: &[Scores], holdout: Option<Scores>) {
        row.set_folds(folds.to_vec(), self.partition.k);
        row.holdout = holdout;
    }

    fn save_cv(&self, id: &str, c: &Candidate, res: &CvResult) -> anyhow::Result<()> {
        let saved = SavedModel {
            candidate: c.clone(),
            folds: res.models.clone(),
            classes: self.target.classes.clone(),
        };
        store::save_cv_model(
            self.project,
            id,
            &saved,
            res.oof.view(),
            res.holdout_proba.view(),
            res,
        )?;
        Ok(())
    }

    fn load_cv(&self, id: &str) -> anyhow::Result<Option<CvResult>> {
        let Some(mut res): Option<CvResult> = store::cv_record(self.project, id)? else {
            return Ok(None);
        };
        let classes = Some(self.target.n_outputs());
        let missing = || anyhow::anyhow!("model {id}: cv.json without its predictions");
        res.oof = store::oof(self.project, id, (Some(self.target.labels.len()), classes))?
            .ok_or_else(missing)?;
        res.holdout_proba =
            store::holdout(self.project, id, (None, classes))?.ok_or_else(missing)?;
        Ok(Some(res))
    }

    /// Blends: average and GLM stacker of the top three cross-validated models, and greedy
    /// ensemble selection over the best [`ENSEMBLE_POOL`].
    fn blend_top(&mut self, cv_done: &[(String, Candidate)]) -> anyhow::Result<()> {
        let mut ranked: Vec<(&String, f64)> = cv_done
            .iter()
            .filter_map(|(id, _)| {
                let s = self.goodness(self.leaderboard.get(id)?.cv_mean.as_ref());
                (s.is_finite() && self.cv_results.contains_key(id)).then_some((id, s))
            })
            .collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
        let ids = |n: usize| -> Vec<String> {
            ranked.iter().take(n).map(|(id, _)| (*id).clone()).collect()
        };
        let (top, pool) = (ids(3), ids(ENSEMBLE_POOL));
        if top.len() < 2 {
            return Ok(());
        }
        self.emit(Event::Stage {
            name: format!("blenders of {}", pool.join(", ")),
            models: 3,
        });
        // Averages and a stacker of the best three; greedy ensemble selection over a wider pool
        // (it weighs the members itself, so weak or redundant ones cost nothing).
        let templates: Vec<(Box<dyn Blender>, Vec<String>)> = vec![
            (Box::new(MeanBlender::default()), top.clone()),
            (Box::new(GlmStacker::default()), top.clone()),
            (Box::new(EnsembleSelection::default()), pool.clone()),
        ];
        for (t, top) in templates {
            let blueprint = format!("{} of {}", t.name(), top.join(" + "));
            let key = format!("blend|{blueprint}");
            if self.leaderboard.by_key(&key).is_some() || !self.may_start(&blueprint, 1.0) {
                continue;
            }
            let members: Vec<&CvResult> = top
                .iter()
                .filter_map(|id| self.cv_results.get(id))
                .collect();
            let id = self.leaderboard.next_model_id();
            // A blender that fails (members' predictions it cannot combine) fails alone, as
            // any model does.
            let res = match cross_validate_blend(
                t.as_ref(),
                &members,
                self.target,
                self.partition,
                self.options.seed,
            ) {
                Ok(res) => res,
                Err(e) => {
                    self.emit(Event::Failed {
                        model_id: id,
                        blueprint,
                        // The blender counts its members from 0.
                        error: format!("{e:#} (members from 0: {})", top.join(", ")),
                    });
                    continue;
                }
            };
            let mut row = LeaderboardRow::new(&id, &blueprint, "blend");
            row.key = key;
            row.members = top.clone();
            row.params = t.params().into_iter().map(|p| (p.name, p.value)).collect();
            self.fill_cv(&mut row, &res.fold_scores, res.holdout_scores.clone());
            // A blender fits and predicts with all its members.
            for m in &top {
                if let Some(r) = self.leaderboard.get(m) {
                    row.fit_seconds += r.fit_seconds;
                    row.predict_seconds_per_1000 += r.predict_seconds_per_1000;
                }
            }
            row.threshold =
                Threshold::choose(self.target, res.oof.view(), &self.partition.cv_rows());
            store::save_blender(self.project, &id, res.blender.as_ref(), res.oof.view())?;
            let score = row.rank_score(self.metric());
            self.save_row(row)?;
            self.emit(Event::Finished {
                model_id: id,
                score,
                seconds: 0.0,
            });
        }
        Ok(())
    }

    /// Retrains the best image blueprint, and the best image blueprint of the runner-up
    /// estimator family, with each alternative backbone (rows linked to their parent); returns
    /// the models trained. Which backbone suits the features depends on the estimator (a linear
    /// head and a residual net can rank two backbones differently), so the second family gets
    /// its own retune rather than inheriting the first one's.
    fn retune_backbones(
        &mut self,
        cv_done: &[(String, Candidate)],
    ) -> anyhow::Result<Vec<(String, Candidate)>> {
        // The fine-tuned CNN is left out: its trunk maps are computed for one backbone only.
        let frozen = |c: &Candidate| c.backbone().is_some() && !c.is_fine_tuned();
        let Some(first) = self.best_cross_validated(cv_done, frozen) else {
            return Ok(Vec::new());
        };
        let family = first.1.estimator.name();
        let second =
            self.best_cross_validated(cv_done, |c| frozen(c) && c.estimator.name() != family);
        let mut done = Vec::new();
        for (parent, best) in std::iter::once(first).chain(second) {
            done.extend(self.retune_on_backbones(&parent, &best)?);
        }
        Ok(done)
    }

    /// Retrains `best` (model `parent`) with each alternative backbone; returns the models
    /// trained.
    fn retune_on_backbones(
        &mut self,
        parent: &str,
        best: &Candidate,
    ) -> anyhow::Result<Vec<(String, Candidate)>> {
        let alternatives: Vec<String> = self
            .options
            .backbones
            .iter()
            .filter(|b| Some(b.as_str()) != best.backbone())
            .cloned()
            .collect();
        if alternatives.is_empty() {
            return Ok(Vec::new());
        }
        let mut done = Vec::new();
        self.emit(Event::Stage {
            name: format!("retune {parent} with other backbones"),
            models: alternatives.len(),
        });
        for b in alternatives {
            let c = best.with_backbone(&b)?;
            if c.learned_keys().iter().any(|k| !self.inputs.has(k)) {
                self.emit(Event::Skipped {
                    blueprint: c.describe(),
                    reason: format!("no image features for {b}"),
                });
                continue;
            }
            if let Some(id) = self.cross_validate_candidate(&c, Some(parent.to_string()))? {
                done.push((id, c));
            }
        }
        Ok(done)
    }
}

/// The candidates to keep from `scored` (higher score first): the best `n`, and besides them
/// the best of every estimator family and of every feature list, so that no strong family or
/// list is dropped on one noisy sample score. In rank order.
fn survivors(mut scored: Vec<(f64, Candidate)>, n: usize) -> Vec<Candidate> {
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut families = std::collections::BTreeSet::new();
    let mut lists = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for (i, (_, c)) in scored.into_iter().enumerate() {
        let new_family = families.insert(c.estimator.name());
        let new_list = lists.insert(c.feature_list.clone());
        if i < n || new_family || new_list {
            out.push(c);
        }
    }
    out
}

/// How a cross-validation request ended.
enum CvStatus {
    /// Trained now or earlier: the model id.
    Done(String),
    /// The model or time limit forbade starting it.
    NotStarted,
    /// Stopped between folds at the time limit; not recorded.
    Stopped,
    /// Training failed (the message).
    Failed(String),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autopilot::candidates::estimator_by_key;

    fn cand(list: &str, key: &str) -> Candidate {
        Candidate {
            feature_list: list.into(),
            blocks: Vec::new(),
            estimator: estimator_by_key(key).unwrap(),
            search_text: false,
        }
    }

    #[test]
    fn survivors_keep_the_best_of_every_family_and_list() {
        let scored = vec![
            (0.60, cand("all", "gbdt")),
            (0.59, cand("all", "et")),
            (0.58, cand("image", "gbdt")),
            (0.50, cand("all", "lr")),
            (0.40, cand("text", "gbdt")),
            (0.30, cand("text", "lr")),
        ];
        let kept = survivors(scored, 2);
        let names: Vec<(String, String)> = kept
            .iter()
            .map(|c| (c.feature_list.clone(), c.estimator.name()))
            .collect();
        // The best two, then the first "image" and "text" rows and the best LR.
        assert_eq!(names.len(), 5, "{names:?}");
        assert_eq!(names[0].0, "all");
        assert!(names.contains(&("image".into(), "Gradient Boosted Trees".into())));
        assert!(names.contains(&("all".into(), "Logistic Regression".into())));
        assert!(names.contains(&("text".into(), "Gradient Boosted Trees".into())));
        assert!(!names.contains(&("text".into(), "Logistic Regression".into())));
    }
}

#[cfg(test)]
mod search_tests {
    use super::*;
    use crate::autopilot::candidates::searched_estimator;
    use crate::dataset::{Column, ColumnType, Dataset};
    use crate::model::BlockSpec;
    use crate::project::ProjectSettings;
    use rand::{Rng, SeedableRng};

    /// 3 classes, 180 numeric columns of noise of which the first 15 carry a weak class shift:
    /// as many columns as training rows per fold, where `C = 1` overfits.
    fn high_dimensional(n: usize) -> (Dataset, Vec<u32>) {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let labels: Vec<u32> = (0..n).map(|i| (i % 3) as u32).collect();
        let columns = (0..180)
            .map(|j| Column {
                name: format!("x{j}"),
                kind: ColumnType::Numeric,
                values: labels
                    .iter()
                    .map(|&c| {
                        let (u, v): (f64, f64) = (rng.random::<f64>().max(1e-12), rng.random());
                        let z = (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos();
                        let shift = if j < 15 && j % 3 == c as usize {
                            0.9
                        } else {
                            0.0
                        };
                        Some(format!("{}", z + shift))
                    })
                    .collect(),
            })
            .collect();
        let ds = Dataset {
            source: "hd.csv".into(),
            base_dir: ".".into(),
            columns,
            skipped: vec![],
        };
        (ds, labels)
    }

    #[test]
    fn the_autopilots_logistic_regression_picks_a_smaller_c_where_c_1_overfits() {
        let n = 240;
        let (ds, labels) = high_dimensional(n);
        let ids: Vec<i32> = (0..n as i32).map(|i| i % 4).collect();
        let partition = Partition::from_fold_ids(ids).unwrap();
        let classes: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        let target = crate::dataset::Target::of_classes("y", classes, labels);
        let dir = tempfile::tempdir().unwrap();
        let project = Project::create(
            &dir.path().join("p"),
            ProjectSettings::new(std::path::Path::new("hd.csv"), "y"),
        )
        .unwrap();
        let blocks: Vec<BlockSpec> = ds
            .columns
            .iter()
            .map(|c| BlockSpec::Numeric {
                column: c.name.clone(),
            })
            .collect();
        let lr = |estimator| Candidate {
            feature_list: "all".into(),
            blocks: blocks.clone(),
            estimator,
            search_text: false,
        };
        let searched = lr(searched_estimator("lr", Mode::Quick).unwrap());
        let plain = lr(estimator_by_key_default());
        let options = AutopilotOptions {
            mode: Mode::Comprehensive,
            max_models: None,
            time_limit_s: None,
            seed: 0,
            backbones: vec![],
        };
        let inputs = crate::features::FeatureInputs::new(&ds);
        let mut ap = Autopilot::new(
            &project,
            inputs,
            &target,
            &partition,
            options,
            Box::new(|_| {}),
        )
        .unwrap();
        let id_searched = ap
            .cross_validate_candidate(&searched, None)
            .unwrap()
            .unwrap();
        let id_plain = ap.cross_validate_candidate(&plain, None).unwrap().unwrap();
        let row = |id: &str| ap.leaderboard().get(id).unwrap().clone();
        let (rs, rp) = (row(&id_searched), row(&id_plain));
        let chosen = &rs.searched["C"];
        assert_eq!(chosen.len(), 4, "one choice per fold: {chosen:?}");
        for c in chosen {
            assert!(c.parse::<f64>().unwrap() < 1.0, "C chosen {chosen:?}");
        }
        let ba = |r: &LeaderboardRow| r.cv_mean.as_ref().unwrap()[&Metric::BalancedAccuracy];
        assert!(
            ba(&rs) > ba(&rp) + 0.02,
            "searched {:.3} vs C=1 {:.3}",
            ba(&rs),
            ba(&rp)
        );
        assert_eq!(rp.params["C"], "1");
    }

    fn estimator_by_key_default() -> Box<dyn blueprints::Estimator> {
        crate::autopilot::candidates::estimator_by_key("lr").unwrap()
    }
}
