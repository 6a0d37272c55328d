use super::*;

use rand::Rng;

/// `n` rows of `level` maps for MobileNetV2 (4 views × 160 × 7 × 7 for the trunk): class `c`
/// raises channels `10c..10c+10` in every view, on top of noise.
fn trunk_rows(level: FeatureLevel, n: usize, classes: usize, seed: u64) -> (Features, Vec<u32>) {
    backbone_trunk_rows(Backbone::MobileNetV2, level, n, classes, seed)
}

/// [`trunk_rows`] for `backbone`'s maps at its input size.
fn backbone_trunk_rows(
    backbone: Backbone,
    level: FeatureLevel,
    n: usize,
    classes: usize,
    seed: u64,
) -> (Features, Vec<u32>) {
    let (c, h, w) = level.map_shape(&backbone.arch(), backbone.input_size());
    let len = c * h * w;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let y: Vec<u32> = (0..n).map(|i| (i % classes) as u32).collect();
    let x = Array2::from_shape_fn((n, TRUNK_VIEWS * len), |(r, j)| {
        let channel = (j % len) / (h * w);
        let signal = if channel / 10 == y[r] as usize {
            1.5
        } else {
            0.0
        };
        (signal + rng.random_range(-1.0f32..1.0)).max(0.0)
    });
    (Features::dense(x), y)
}

fn quick(seed_start: bool) -> FineTunedCnn {
    quick_on(Backbone::MobileNetV2, seed_start)
}

fn quick_on(backbone: Backbone, seed_start: bool) -> FineTunedCnn {
    let mut e = FineTunedCnn::new(backbone);
    e.random_start = seed_start;
    e.params.epochs = 6;
    e.params.batch_size = 16;
    e.params.device = TrainDevice::Cpu;
    e
}

fn accuracy(p: &Array2<f32>, y: &[u32]) -> f64 {
    let predicted = blueprints::metrics::argmax_rows(p.view());
    blueprints::metrics::balanced_accuracy(y, &predicted, 3).unwrap()
}

#[test]
fn learns_a_signal_in_the_trunk_maps_and_round_trips() {
    let _rng = crate::flex_rng_lock();
    let (x, y) = trunk_rows(FeatureLevel::Trunk, 72, 3, 1);
    let (xt, yt) = trunk_rows(FeatureLevel::Trunk, 30, 3, 2);
    let mut e = quick(true);
    e.fit(&x, &y, &FitContext::new(3, 7)).unwrap();
    assert!(e.epochs_run().unwrap() >= 1);
    assert!(!e.validation_loss().is_empty());
    assert!(e.trained_on().unwrap().contains("cpu"));
    let p = e.predict_proba(&xt).unwrap();
    assert_eq!(p.dim(), (30, 3));
    for row in p.rows() {
        assert!((row.sum() - 1.0).abs() < 1e-4);
    }
    let acc = accuracy(&p, &yt);
    assert!(acc > 0.8, "held-out balanced accuracy {acc}");

    // Same seed, same model; the saved form predicts the same.
    let mut again = quick(true);
    again.fit(&x, &y, &FitContext::new(3, 7)).unwrap();
    assert_eq!(again.predict_proba(&xt).unwrap(), p);
    // Grad-CAM at the head: one 7×7 map per row, not all zero; one row only.
    let one = xt.select_rows(&[0]);
    let map = e.class_activation_map(&one, 1).unwrap().unwrap();
    assert_eq!(map.dim(), (7, 7));
    assert!(map.iter().all(|v| v.is_finite()) && map.iter().any(|&v| v != 0.0));
    assert!(e.class_activation_map(&xt, 1).is_err());
    assert!(e.class_activation_map(&one, 5).is_err());
    let json = serde_json::to_string(&(Box::new(e) as Box<dyn Estimator>)).unwrap();
    let back: Box<dyn Estimator> = serde_json::from_str(&json).unwrap();
    assert_eq!(back.predict_proba(&xt).unwrap(), p);
}

#[test]
fn trains_the_last_two_stages_on_the_deeper_trunk() {
    let _rng = crate::flex_rng_lock();
    let (x, y) = trunk_rows(FeatureLevel::Trunk2, 72, 3, 3);
    let (xt, yt) = trunk_rows(FeatureLevel::Trunk2, 30, 3, 4);
    let mut e = quick(true);
    e.set_param("stages", "2").unwrap();
    assert_eq!(e.image_level().as_deref(), Some("trunk2"));
    assert_eq!(e.shape().unwrap(), [96, 14, 14]);
    // The tail holds MobileNetV2's last two stages: three 160-channel blocks and the 320 one.
    let device = burn::tensor::Device::flex();
    assert_eq!(e.empty_tail(3, &device).unwrap().body.blocks.len(), 4);
    e.fit(&x, &y, &FitContext::new(3, 7)).unwrap();
    let p = e.predict_proba(&xt).unwrap();
    let acc = accuracy(&p, &yt);
    assert!(acc > 0.8, "held-out balanced accuracy {acc}");
    let one = xt.select_rows(&[0]);
    assert_eq!(
        e.class_activation_map(&one, 1).unwrap().unwrap().dim(),
        (7, 7)
    );
    // The one-stage maps are refused.
    let (shallow, _) = trunk_rows(FeatureLevel::Trunk, 4, 3, 5);
    let err = e.predict_proba(&shallow).unwrap_err().to_string();
    assert!(err.contains("75264"), "{err}");
    assert!(e.set_param("stages", "4").is_err());
    assert!(e.set_param("stages", "0").is_err());
    // Three stages read the trunk3 maps and hold stage 4's three 96-channel blocks too.
    e.set_param("stages", "3").unwrap();
    assert_eq!(e.image_level().as_deref(), Some("trunk3"));
    assert_eq!(e.shape().unwrap(), [64, 14, 14]);
    assert_eq!(e.empty_tail(3, &device).unwrap().body.blocks.len(), 7);
    // Models stored before `stages` existed trained one stage.
    let mut old = serde_json::to_value(FineTuneParams::default()).unwrap();
    old.as_object_mut().unwrap().remove("stages");
    let old: FineTuneParams = serde_json::from_value(old).unwrap();
    assert_eq!(old.stages, 1);
}

#[test]
fn refuses_features_that_are_not_its_trunk_maps() {
    let _rng = crate::flex_rng_lock();
    let x = Features::dense(Array2::zeros((4, 1280)));
    let mut e = quick(true);
    let err = e
        .fit(&x, &[0, 1, 0, 1], &FitContext::new(2, 0))
        .unwrap_err();
    assert!(err.to_string().contains("31360 columns"), "{err}");
    // The backbone follows the image block; an unknown one is refused.
    e.set_image_backbone("efficientnet-lite0").unwrap();
    assert_eq!(e.shape().unwrap(), [192, 7, 7]);
    assert!(e.set_image_backbone("resnet-9000").is_err());
    assert!(e.estimate_fit_seconds(100, 3).unwrap() > 0.0);
}

#[test]
fn stored_tensors_refuse_another_layout() {
    let _rng = crate::flex_rng_lock();
    let device = burn::tensor::Device::flex();
    let empty = |level, k| TailNet::empty(Backbone::MobileNetV2, level, k, &device);
    let tail = empty(FeatureLevel::Trunk, 3);
    let stored = StoredTensors::of(&tail).unwrap();
    assert!(
        stored
            .load_into(empty(FeatureLevel::Trunk, 4), &device)
            .is_err()
    );
    assert!(
        stored
            .load_into(empty(FeatureLevel::Trunk2, 3), &device)
            .is_err()
    );
    let same = empty(FeatureLevel::Trunk, 3);
    let loaded = stored.load_into(same, &device).unwrap();
    assert_eq!(StoredTensors::of(&loaded).unwrap(), stored);
}

#[test]
fn cpu_kernel_predictions_match_burn() {
    let _rng = crate::flex_rng_lock();
    let levels = FeatureLevel::TRUNKS;
    // The ResNet on small maps (64 px input: a 4 × 4 trunk) to keep burn's side quick.
    let nets = [
        (Backbone::MobileNetV2, 224),
        (Backbone::EfficientNetLite0, 224),
        (Backbone::ResNet50Half, 64),
    ];
    for ((backbone, side), level) in nets.into_iter().flat_map(|b| levels.map(|l| (b, l))) {
        let device = burn::tensor::Device::flex();
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let tail = tail::TailNet::empty(backbone, level, 3, &device).randomized(&mut rng);
        let (c, h, w) = level.map_shape(&backbone.arch(), side);
        let n = 5;
        let x = Array2::from_shape_fn((n, TRUNK_VIEWS * c * h * w), |_| {
            rng.random_range(-1.0f32..2.0).max(0.0)
        });
        // Rows picked out of order: each must land in its own output row.
        let rows = [3, 0, 4, 1];
        let want = Scorer::Burn(&device)
            .probabilities(&tail, &x, [c, h, w], &rows)
            .unwrap();
        let padding = backbone.arch().padding;
        let got = Scorer::CpuKernels(padding)
            .probabilities(&tail, &x, [c, h, w], &rows)
            .unwrap();
        let diff = (&got - &want).iter().fold(0f64, |m, v| m.max(v.abs()));
        assert!(diff < 1e-5, "{backbone} {level}: max |Δp| {diff}");
        let all = Scorer::CpuKernels(padding)
            .probabilities(&tail, &x, [c, h, w], &[0, 1, 2, 3, 4])
            .unwrap();
        for (i, &r) in rows.iter().enumerate() {
            let d = (&got.row(i) - &all.row(r))
                .iter()
                .fold(0f64, |m, v| m.max(v.abs()));
            assert!(
                d < 1e-6,
                "{backbone} {level}: row {r} scored as another: {d}"
            );
        }
        // Something other than a uniform 1/3 was compared.
        assert!(want.iter().any(|&p| (p - 1.0 / 3.0).abs() > 1e-3));
    }
}

#[test]
fn fine_tunes_the_resnets_last_stage() {
    let _rng = crate::flex_rng_lock();
    let backbone = Backbone::ResNet50Half;
    let (x, y) = backbone_trunk_rows(backbone, FeatureLevel::Trunk, 48, 3, 11);
    let (xt, yt) = backbone_trunk_rows(backbone, FeatureLevel::Trunk, 24, 3, 12);
    let mut e = quick_on(backbone, true);
    e.params.epochs = 4;
    // The tail is layer 4's three bottlenecks (the first projects 512 → 1024 channels), no
    // 1×1 head, a classifier on the pooled 1024 channels; it reads the 512 × 14 × 14 maps.
    let device = burn::tensor::Device::flex();
    let tail = e.empty_tail(3, &device).unwrap();
    assert_eq!(tail.body.bottlenecks.len(), 3);
    assert!(tail.body.blocks.is_empty() && tail.body.head.is_none());
    assert_eq!(tail.classifier.weight.val().dims(), [1024, 3]);
    assert_eq!(e.shape().unwrap(), [512, 14, 14]);
    e.fit(&x, &y, &FitContext::new(3, 7)).unwrap();
    let p = e.predict_proba(&xt).unwrap();
    let acc = accuracy(&p, &yt);
    assert!(acc > 0.8, "held-out balanced accuracy {acc}");
    // Grad-CAM on the last bottleneck's 7 × 7 map.
    let one = xt.select_rows(&[0]);
    let map = e.class_activation_map(&one, 1).unwrap().unwrap();
    assert_eq!(map.dim(), (7, 7));
    assert!(map.iter().any(|&v| v != 0.0));
    let json = serde_json::to_string(&(Box::new(e) as Box<dyn Estimator>)).unwrap();
    let back: Box<dyn Estimator> = serde_json::from_str(&json).unwrap();
    assert_eq!(back.predict_proba(&xt).unwrap(), p);
    assert!(parse_backbone("resnet50-1by2").is_ok());
}
