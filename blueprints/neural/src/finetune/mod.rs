//! Fine-tuned CNN: a pretrained backbone whose last one, two or three stages (`stages`) — and
//! the 1×1 head of the inverted-residual nets — are trained together with a new classifier,
//! with burn autodiff (on a hardware GPU through wgpu when there is one, else burn's CPU
//! backend).
//!
//! The network below them stays frozen, so its output — the trunk map, for four augmented
//! views of each image ([`FeatureLevel::Trunk`]; [`FeatureLevel::Trunk2`] / `Trunk3` for two /
//! three stages)
//! — is computed once by the featurizer and cached like any image feature; every fold and
//! epoch then trains only the tail. Each epoch shows every training image in one of its views
//! drawn at random (augmentation: mirror and zoom); dropout precedes the classifier; the tail
//! takes a ten times smaller Adam step than the new classifier; early stopping keeps the epoch
//! with the lowest class-weighted log loss on held-out rows (stratified). Predictions average
//! the softmax over the four views (test-time augmentation).

mod channels_last;
mod clamp_op;
mod cpu_tensor;
mod depthwise_op;
mod stored;
mod tail;
mod train;

pub use stored::StoredTensors;
pub use tail::{TailBody, TailNet};

use std::time::Instant;

use ndarray::Array2;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use blueprints::error::{BlueprintError, Result};
use blueprints::estimator::Fitted;
use blueprints::fit_input::{
    ClassMap, ClassWeight, FitLabels, check_predict_columns, stratified_split,
};
use blueprints::params::{Param, ParamSpec, Tunable};
use blueprints::{Estimator, Features, FitContext, choice_enum, field};

use crate::backbone::Backbone;
use crate::device::{DeviceChoice, SelectedDevice, select_device};
use crate::level::{FeatureLevel, TRUNK_VIEWS};
use crate::network::Network;
use crate::precision::host_f32;
use crate::zoo;
use train::{Scorer, TrainData, Validation, time_one_step};

/// The estimator's name.
pub const TASK: &str = "Fine-tuned CNN";

/// Stages trained by default (see [`FineTuneParams::stages`]).
pub const DEFAULT_STAGES: usize = 1;

choice_enum! {
    /// Where the tail trains.
    #[derive(Default)]
    pub enum TrainDevice {
        /// A hardware GPU through wgpu when there is one, else the CPU.
        #[default]
        Auto = "auto",
        /// burn's CPU backend.
        Cpu = "cpu",
        /// wgpu (a software adapter too, when named).
        Wgpu = "wgpu",
    }
}

impl From<DeviceChoice> for TrainDevice {
    fn from(d: DeviceChoice) -> Self {
        match d {
            DeviceChoice::Auto => TrainDevice::Auto,
            DeviceChoice::Cpu => TrainDevice::Cpu,
            DeviceChoice::Wgpu => TrainDevice::Wgpu,
        }
    }
}

impl From<TrainDevice> for DeviceChoice {
    fn from(d: TrainDevice) -> Self {
        match d {
            TrainDevice::Auto => DeviceChoice::Auto,
            TrainDevice::Cpu => DeviceChoice::Cpu,
            TrainDevice::Wgpu => DeviceChoice::Wgpu,
        }
    }
}

/// Hyperparameters of [`FineTunedCnn`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FineTuneParams {
    /// Pretrained stages trained (1 = the last, 2 = the last two, 3 = the last three), besides
    /// the head.
    #[serde(default = "one_stage")]
    pub stages: usize,
    /// Most passes over the training images.
    pub epochs: usize,
    /// Images per step.
    pub batch_size: usize,
    /// Adam step of the new classifier.
    pub learning_rate: f64,
    /// Adam step of the pretrained tail.
    pub tail_learning_rate: f64,
    /// Dropout rate before the classifier.
    pub dropout: f64,
    /// Epochs without a lower validation loss before stopping; 0 = never stop early.
    pub patience: usize,
    /// Fraction of the training rows held out (stratified) for early stopping; 0 = none.
    pub validation_fraction: f64,
    /// `balanced` weighs classes inversely to their frequency.
    pub class_weight: ClassWeight,
    /// Where it trains.
    pub device: TrainDevice,
}

/// Models stored before `stages` existed trained the last stage.
fn one_stage() -> usize {
    1
}

impl Default for FineTuneParams {
    fn default() -> Self {
        Self {
            stages: DEFAULT_STAGES,
            epochs: 20,
            batch_size: 32,
            learning_rate: 1e-3,
            tail_learning_rate: 1e-4,
            dropout: 0.2,
            patience: 4,
            validation_fraction: 0.15,
            class_weight: ClassWeight::Balanced,
            device: TrainDevice::Auto,
        }
    }
}

/// What fitting produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct FittedCnn {
    classes: ClassMap,
    n_dense: usize,
    /// The trained tail and classifier.
    weights: StoredTensors,
    epochs_run: usize,
    validation_loss: Vec<f64>,
    /// The device that trained it.
    trained_on: String,
    /// Wall seconds of the training.
    seconds: f64,
}

/// A pretrained CNN fine-tuned on the trunk maps of its image column (see the module docs).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FineTunedCnn {
    /// Zoo name of the backbone whose tail is fine-tuned (that of the image block).
    pub backbone: String,
    /// Hyperparameters.
    pub params: FineTuneParams,
    /// Start from random weights instead of the zoo's (tests and benchmarks without weights).
    #[serde(default)]
    pub random_start: bool,
    fitted: Fitted<FittedCnn>,
}

impl FineTunedCnn {
    /// An unfitted estimator for `backbone`'s pretrained tail.
    pub fn new(backbone: Backbone) -> Self {
        Self {
            backbone: backbone.name().to_string(),
            params: FineTuneParams::default(),
            random_start: false,
            fitted: Fitted::default(),
        }
    }

    /// Epochs the last fit ran (`None` before fitting).
    pub fn epochs_run(&self) -> Option<usize> {
        self.fitted.as_option().map(|f| f.epochs_run)
    }

    /// Validation loss after each epoch of the last fit.
    pub fn validation_loss(&self) -> &[f64] {
        self.fitted.as_option().map_or(&[], |f| &f.validation_loss)
    }

    /// The device of the last fit (`None` before fitting).
    pub fn trained_on(&self) -> Option<&str> {
        self.fitted.as_option().map(|f| f.trained_on.as_str())
    }

    fn backbone(&self) -> Result<Backbone> {
        parse_backbone(&self.backbone)
    }

    /// The trunk level its input is: the map under the trained stages.
    pub fn trunk_level(&self) -> Result<FeatureLevel> {
        FeatureLevel::trunk(self.params.stages).ok_or_else(|| BlueprintError::InvalidParam {
            name: "stages".into(),
            value: self.params.stages.to_string(),
            reason: format!("1 to {} stages can be trained", FeatureLevel::TRUNKS.len()),
        })
    }

    /// `[channels, height, width]` of one view's trunk map.
    fn shape(&self) -> Result<[usize; 3]> {
        let b = self.backbone()?;
        let (c, h, w) = self.trunk_level()?.map_shape(&b.arch(), b.input_size());
        Ok([c, h, w])
    }

    /// A tail of the trained layout with placeholder weights (to load stored ones into).
    fn empty_tail(&self, n_outputs: usize, device: &burn::tensor::Device) -> Result<TailNet> {
        Ok(TailNet::empty(
            self.backbone()?,
            self.trunk_level()?,
            n_outputs,
            device,
        ))
    }

    fn device(&self) -> Result<SelectedDevice> {
        select_device(self.params.device.into()).map_err(|e| BlueprintError::InvalidParam {
            name: "device".into(),
            value: self.params.device.to_string(),
            reason: e.to_string(),
        })
    }

    /// The backbone network the tail comes from: the zoo's weights, or placeholder ones
    /// (redrawn from the seed by the caller) for a random start.
    fn start_net(&self, device: &SelectedDevice) -> Result<Network> {
        let backbone = self.backbone()?;
        if self.random_start {
            return Ok(Network::placeholder(backbone, &device.device));
        }
        let weights_error = |e: crate::NeuralError| {
            BlueprintError::Unsupported(format!("{TASK}: the pretrained {backbone} weights: {e}"))
        };
        let path = zoo::resolve_weights(backbone, None).map_err(weights_error)?;
        Network::load(backbone, &path, &device.device).map_err(weights_error)
    }

    /// The dense trunk maps of `x`, checked against the backbone's trunk width.
    fn trunk_rows<'a>(&self, x: &'a Features) -> Result<&'a Array2<f32>> {
        let [c, h, w] = self.shape()?;
        let want = TRUNK_VIEWS * c * h * w;
        match &x.dense {
            Some(d) if x.sparse.is_none() && d.ncols() == want => Ok(d),
            _ => Err(BlueprintError::InvalidInput(format!(
                "{TASK} on {} needs the {} maps of its image column alone ({want} columns: \
                 {TRUNK_VIEWS} views × {c}×{h}×{w}), got {} dense + {} sparse columns",
                self.backbone,
                self.trunk_level()?,
                x.n_dense(),
                x.n_sparse()
            ))),
        }
    }
}

/// Where `backbone`'s tail scores rows on `device`: the CPU kernels on the CPU (they beat
/// burn's backend there), burn on a GPU.
fn scorer(device: &SelectedDevice, backbone: Backbone) -> Scorer<'_> {
    match device.adapter {
        None => Scorer::CpuKernels(backbone.arch().padding),
        Some(_) => Scorer::Burn(&device.device),
    }
}

/// A zoo backbone by name; an unknown one is an invalid `backbone`.
fn parse_backbone(name: &str) -> Result<Backbone> {
    Backbone::from_name(name).map_err(|e| BlueprintError::InvalidParam {
        name: "backbone".into(),
        value: name.into(),
        reason: e.to_string(),
    })
}

impl Tunable for FineTunedCnn {
    fn param_table() -> Vec<Param<Self>> {
        vec![
            Param::int(
                "stages",
                1..=FeatureLevel::TRUNKS.len() as i64,
                field!(params.stages),
                "pretrained stages trained with the head: 1 = the last, 2 = the last two, 3 = the \
                 last three (read the trunk2 / trunk3 maps; each added stage trains slower)",
            ),
            Param::int(
                "epochs",
                1..=10_000,
                field!(params.epochs),
                "most passes over the training images",
            ),
            Param::int(
                "batch_size",
                1..=4096,
                field!(params.batch_size),
                "images per step",
            ),
            Param::log_float(
                "learning_rate",
                1e-6..=1.0,
                field!(params.learning_rate),
                "Adam step of the new classifier",
            ),
            Param::log_float(
                "tail_learning_rate",
                1e-7..=1.0,
                field!(params.tail_learning_rate),
                "Adam step of the pretrained last stage and head",
            ),
            Param::float(
                "dropout",
                0.0..=0.9,
                field!(params.dropout),
                "dropout rate before the classifier",
            ),
            Param::int(
                "patience",
                0..=1000,
                field!(params.patience),
                "epochs without better validation loss before stopping; 0 = off",
            ),
            Param::float(
                "validation_fraction",
                0.0..=0.5,
                field!(params.validation_fraction),
                "training rows held out for early stopping; 0 = off",
            ),
            ClassWeight::param(field!(params.class_weight)),
            Param::choice(
                "device",
                field!(params.device),
                "where it trains: auto = a hardware GPU through wgpu when there is one, else \
                 the CPU",
            ),
        ]
    }
}

#[typetag::serde]
impl Estimator for FineTunedCnn {
    fn name(&self) -> String {
        TASK.into()
    }

    fn params(&self) -> Vec<ParamSpec> {
        self.param_specs()
    }

    fn set_param(&mut self, name: &str, value: &str) -> Result<()> {
        self.set_by_name(TASK, name, value)
    }

    fn fit(&mut self, x: &Features, y: &[u32], ctx: &FitContext) -> Result<()> {
        let start = Instant::now();
        let dense = self.trunk_rows(x)?;
        let FitLabels {
            classes,
            y: yc,
            weights,
        } = FitLabels::new(x, y, ctx, self.params.class_weight)?;
        self.fitted.clear();
        let k = classes.n_present();
        let device = self.device()?;
        let mut rng = ChaCha8Rng::seed_from_u64(ctx.seed);
        let net = self.start_net(&device)?;
        let mut tail = TailNet::from_network(
            net,
            self.backbone()?,
            self.trunk_level()?,
            k,
            &mut rng,
            &device.device,
        );
        if self.random_start {
            tail = tail.randomized(&mut rng);
        }
        let p = &self.params;
        let stops = p.patience > 0 && p.validation_fraction > 0.0 && k > 1;
        let (train_rows, valid_rows) = if stops {
            stratified_split(&yc, k, p.validation_fraction, &mut rng)
        } else {
            ((0..yc.len()).collect(), Vec::new())
        };
        let mut params = p.clone();
        if k < 2 {
            params.epochs = 0; // one class: nothing to learn
        }
        let data = TrainData {
            x: dense,
            y: &yc,
            weights: &weights,
            shape: self.shape()?,
            n_classes: k,
        };
        let trained = train::train(
            tail,
            &data,
            &train_rows,
            &Validation {
                rows: &valid_rows,
                scorer: scorer(&device, self.backbone()?),
            },
            &params,
            &mut rng,
            &device.device,
        )?;
        self.fitted = FittedCnn {
            classes,
            n_dense: dense.ncols(),
            weights: StoredTensors::of(&trained.tail)?,
            epochs_run: trained.epochs_run,
            validation_loss: trained.validation_loss,
            trained_on: device.description,
            seconds: start.elapsed().as_secs_f64(),
        }
        .into();
        Ok(())
    }

    fn predict_proba(&self, x: &Features) -> Result<Array2<f32>> {
        let f = self.fitted.get(TASK)?;
        check_predict_columns(x, f.n_dense, 0)?;
        let dense = self.trunk_rows(x)?;
        let selected = self.device()?;
        let empty = self.empty_tail(f.classes.n_present(), &selected.device)?;
        let tail = f.weights.load_into(empty, &selected.device)?;
        let rows: Vec<usize> = (0..dense.nrows()).collect();
        let p = scorer(&selected, self.backbone()?).probabilities(
            &tail,
            dense,
            self.shape()?,
            &rows,
        )?;
        Ok(f.classes.expand(p.view()))
    }

    fn clone_box(&self) -> Box<dyn Estimator> {
        Box::new(self.clone())
    }

    /// Grad-CAM at the head (the last convolution) on the centre view. Pooling and the
    /// classifier are linear, so the gradient of the centred logit `z_c − mean_k z_k` with
    /// respect to the head's activation `A_kij` is `(W_kc − mean_m W_km) / (h·w)` for every
    /// position: the map is `Σ_k (W_kc − mean_m W_km) · A_k` (up to the constant `1/(h·w)`).
    fn class_activation_map(&self, x: &Features, class: usize) -> Result<Option<Array2<f32>>> {
        let f = self.fitted.get(TASK)?;
        check_predict_columns(x, f.n_dense, 0)?;
        let dense = self.trunk_rows(x)?;
        if dense.nrows() != 1 {
            return Err(BlueprintError::InvalidInput(format!(
                "{TASK}: an activation map needs one row, got {}",
                dense.nrows()
            )));
        }
        let Some(c) = f.classes.present.iter().position(|&p| p as usize == class) else {
            return Err(BlueprintError::InvalidInput(format!(
                "{TASK}: class {class} was not among the training labels"
            )));
        };
        let device = self.device()?.device;
        let k = f.classes.n_present();
        let tail = f.weights.load_into(self.empty_tail(k, &device)?, &device)?;
        let shape = self.shape()?;
        let maps = tail.head_maps(train::gather_views(dense, shape, &[(0, 0)], &device));
        let [_, channels, h, w] = maps.dims();
        let read = |t: burn::tensor::Tensor<2>| {
            host_f32(t).map_err(|e| BlueprintError::Numeric {
                task: TASK.into(),
                reason: format!("reading a tensor back: {e}"),
            })
        };
        let a = read(maps.reshape([channels, h * w]))?;
        let weights = read(tail.classifier.weight.val())?; // [channels, k]
        let mut map = vec![0f32; h * w];
        for (ch, row) in weights.chunks(k).enumerate() {
            let g = row[c] - row.iter().sum::<f32>() / k as f32;
            for (m, &v) in map.iter_mut().zip(&a[ch * h * w..(ch + 1) * h * w]) {
                *m += g * v;
            }
        }
        Array2::from_shape_vec((h, w), map)
            .map(Some)
            .map_err(|e| BlueprintError::InvalidInput(e.to_string()))
    }

    fn image_level(&self) -> Option<String> {
        self.trunk_level().ok().map(|l| l.name().to_string())
    }

    fn set_image_backbone(&mut self, backbone: &str) -> Result<()> {
        self.backbone = parse_backbone(backbone)?.name().to_string();
        self.fitted.clear();
        Ok(())
    }

    /// Every epoch run (an upper bound: early stopping usually ends sooner), from the time of
    /// one training step measured on random maps.
    fn estimate_fit_seconds(&self, n_rows: usize, n_classes: usize) -> Option<f64> {
        let device = self.device().ok()?;
        let shape = self.shape().ok()?;
        let batch = self.params.batch_size.max(1);
        let tail = self.empty_tail(n_classes.max(2), &device.device).ok()?;
        let step = time_one_step(tail, shape, &self.params, &device.device);
        let valid = (n_rows as f64 * self.params.validation_fraction).round();
        let steps = ((n_rows as f64 - valid) / batch as f64).ceil();
        // Scoring as many inputs as a training step sees costs about a third of the step with
        // burn, an eighth or less with the CPU kernels (`neural_bench finetune_profile`: 53 vs
        // 416 ms on the ResNet's tail, 12 vs 132 on MobileNetV2's).
        let share = match scorer(&device, self.backbone().ok()?) {
            Scorer::CpuKernels(_) => 1.0 / 8.0,
            Scorer::Burn(_) => 1.0 / 3.0,
        };
        let scoring = valid * TRUNK_VIEWS as f64 / batch as f64 * share;
        Some(self.params.epochs as f64 * (steps + scoring) * step)
    }
}

#[cfg(test)]
mod tests;
