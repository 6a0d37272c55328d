use super::*;

use rand::Rng;

/// `n` rows of trunk maps for MobileNetV2 (4 views × 160 × 7 × 7): class `c` raises channels
/// `10c..10c+10` in every view, on top of noise.
fn trunk_rows(n: usize, classes: usize, seed: u64) -> (Features, Vec<u32>) {
    let (c, h, w) = Backbone::MobileNetV2.arch().trunk_shape(224);
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
    let mut e = FineTunedCnn::new(Backbone::MobileNetV2);
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
    let (x, y) = trunk_rows(72, 3, 1);
    let (xt, yt) = trunk_rows(30, 3, 2);
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
    let tail = TailNet::empty(Backbone::MobileNetV2, 3, &device);
    let stored = StoredTensors::of(&tail).unwrap();
    let other = TailNet::empty(Backbone::MobileNetV2, 4, &device);
    assert!(stored.load_into(other, &device).is_err());
    let same = TailNet::empty(Backbone::MobileNetV2, 3, &device);
    let loaded = stored.load_into(same, &device).unwrap();
    assert_eq!(StoredTensors::of(&loaded).unwrap(), stored);
}

#[test]
fn cpu_kernel_predictions_match_burn() {
    let _rng = crate::flex_rng_lock();
    for backbone in [Backbone::MobileNetV2, Backbone::EfficientNetLite0] {
        let device = burn::tensor::Device::flex();
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let tail = tail::TailNet::empty(backbone, 3, &device).randomized(&mut rng);
        let (c, h, w) = backbone.arch().trunk_shape(224);
        let n = 5;
        let x = Array2::from_shape_fn((n, TRUNK_VIEWS * c * h * w), |_| {
            rng.random_range(-1.0f32..2.0).max(0.0)
        });
        let rows: Vec<usize> = (0..n).collect();
        let want = predict_rows(&tail, &x, [c, h, w], &rows, &device).unwrap();
        let padding = backbone.arch().padding;
        let got = predict_all_on_cpu_kernels(&tail, &x, [c, h, w], padding).unwrap();
        let diff = (&got - &want).iter().fold(0f64, |m, v| m.max(v.abs()));
        assert!(diff < 1e-5, "{backbone}: max |Δp| {diff}");
        // Something other than a uniform 1/3 was compared.
        assert!(want.iter().any(|&p| (p - 1.0 / 3.0).abs() > 1e-3));
    }
}
