//! The wgpu path: the adapter it runs on, and the same numbers as the CPU backend and the
//! PyTorch reference (max |Δ| ≤ 1e-3).
//!
//! These tests need a Vulkan adapter (on a machine without a GPU: Mesa's lavapipe,
//! `apt-get install mesa-vulkan-drivers libvulkan1`). Without one they print a note and pass,
//! unless `AUTOPILOT_REQUIRE_WGPU=1` (set by CI), which turns a missing adapter or a non-Vulkan
//! one (wgpu falling back to OpenGL) into a failure. The reference tests also skip when
//! `shared/reference` is absent, unless `AUTOPILOT_REQUIRE_SHARED=1`.

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use neural::device::{SelectedDevice, select_device, wgpu_adapters};
use neural::featurizer::{FeaturizerConfig, ImageFeaturizer};
use neural::net::BackboneNet;
use neural::{Backbone, DeviceChoice, FeatureLevel, Precision};

use super::common::{
    argmax, cosine, json_f32, max_abs_diff, minilm_reference, pseudo_random, read_f32,
    reference_dir,
};

/// The wgpu device, or `None` (with a printed note) when there is no Vulkan adapter and CI
/// does not require one.
fn wgpu_or_skip() -> Option<SelectedDevice> {
    let adapters: Vec<String> = wgpu_adapters().iter().map(|a| a.to_string()).collect();
    println!("wgpu adapters: [{}]", adapters.join("; "));
    let problem = match select_device(DeviceChoice::Wgpu) {
        Ok(selected) => match &selected.adapter {
            Some(a) if a.is_vulkan() => {
                println!("wgpu device: {}", selected.description);
                return Some(selected);
            }
            Some(a) => format!("the wgpu adapter is not a Vulkan one: {a}"),
            None => "select_device(Wgpu) returned a device without an adapter".to_string(),
        },
        Err(e) => e.to_string(),
    };
    autopilot_testkit::missing("WGPU", &problem);
    None
}

fn host(t: Tensor<2>) -> Vec<f32> {
    t.into_data().try_into_vec::<f32>().unwrap()
}

#[test]
fn wgpu_device_reports_its_adapter_and_multiplies_like_the_host() {
    let Some(selected) = wgpu_or_skip() else {
        return;
    };
    let adapter = selected.adapter.unwrap();
    assert!(!adapter.name.is_empty());
    assert!(selected.description.contains(&adapter.name));
    // Selecting again gives the same (cached) runtime instead of failing to initialise twice.
    let again = select_device(DeviceChoice::Wgpu).unwrap();
    assert_eq!(again.adapter.unwrap(), adapter);

    let (m, k, n) = (7, 33, 5);
    let a = pseudo_random(m * k, 1);
    let b = pseudo_random(k * n, 2);
    let dev = &selected.device;
    let ta = Tensor::<2>::from_data(TensorData::new(a.clone(), [m, k]), dev);
    let tb = Tensor::<2>::from_data(TensorData::new(b.clone(), [k, n]), dev);
    let got = host(ta.matmul(tb));
    let want: Vec<f32> = (0..m * n)
        .map(|ij| (0..k).map(|l| a[ij / n * k + l] * b[l * n + ij % n]).sum())
        .collect();
    let d = max_abs_diff(&got, &want);
    println!("matmul {m}x{k}x{n}: max |Δ| = {d:.2e}");
    assert!(d < 1e-4, "wgpu matmul differs from the host by {d}");
}

#[test]
fn random_mobilenet_v2_gives_the_cpu_numbers_on_wgpu() {
    let Some(selected) = wgpu_or_skip() else {
        return;
    };
    let cpu = Device::flex();
    cpu.seed(7);
    let net = BackboneNet::new(&Backbone::MobileNetV2.arch(), &cpu).fuse();
    let on_gpu = net.clone().to_device(&selected.device);
    // A small input keeps this cheap on a software adapter; the network is fully convolutional.
    let side = 96;
    let input = pseudo_random(2 * 3 * side * side, 3);
    let levels = [FeatureLevel::Low, FeatureLevel::Highest];
    let run = |net: &BackboneNet, device: &Device| {
        let x = Tensor::<4>::from_data(TensorData::new(input.clone(), [2, 3, side, side]), device);
        let out = net.forward(x, &levels, true);
        let feats: Vec<Vec<f32>> = out.levels.into_iter().map(host).collect();
        (feats, host(out.logits.unwrap()))
    };
    let (cpu_feats, cpu_logits) = run(&net, &cpu);
    let (gpu_feats, gpu_logits) = run(&on_gpu, &selected.device);
    for ((level, c), g) in levels.iter().zip(&cpu_feats).zip(&gpu_feats) {
        let scale = c.iter().fold(1.0f32, |m, v| m.max(v.abs()));
        let d = max_abs_diff(c, g);
        println!("{level:?}: max |Δ| = {d:.2e} (max |x| = {scale:.2})");
        assert!(d <= 1e-3 * scale, "{level:?} features differ by {d}");
    }
    let scale = cpu_logits.iter().fold(1.0f32, |m, v| m.max(v.abs()));
    let d = max_abs_diff(&cpu_logits, &gpu_logits);
    println!("logits: max |Δ| = {d:.2e} (max |x| = {scale:.2})");
    assert!(d <= 1e-3 * scale, "logits differ by {d}");
}

/// A batch whose largest map exceeds the device's largest buffer (32 MobileNetV2 images at 224
/// need 154 MB; lavapipe binds 128 MiB) runs in turns and gives the CPU's numbers, instead of
/// failing to allocate. (About a minute on lavapipe, mostly compiling kernels for the batch.)
#[test]
fn a_batch_over_the_largest_buffer_runs_in_turns() {
    let Some(selected) = wgpu_or_skip() else {
        return;
    };
    let limit = selected
        .max_buffer_bytes
        .expect("a wgpu device states its largest buffer");
    let featurizer = |device| {
        let mut config = FeaturizerConfig::new(Backbone::MobileNetV2);
        config.device = device;
        // The low level stops after the second stage, past the largest map (block 2's).
        config.levels = vec![FeatureLevel::Low];
        ImageFeaturizer::new(config).expect("weights fetched from the zoo and loaded")
    };
    let (gpu, cpu) = (
        featurizer(DeviceChoice::Wgpu),
        featurizer(DeviceChoice::Cpu),
    );
    let per_image = Backbone::MobileNetV2.arch().largest_map(224) * 4;
    let n = 32;
    println!(
        "largest buffer {limit} bytes: {} images per pass of {n}",
        gpu.forward_images()
    );
    assert!(gpu.forward_images() as u64 * per_image as u64 <= limit);
    if limit < (n * per_image) as u64 {
        assert!(gpu.forward_images() < n, "the batch must be split");
    }
    let input = pseudo_random(n * 3 * 224 * 224, 9);
    let got = gpu.run_batch(input.clone(), n, false).unwrap().features;
    let want = cpu.run_batch(input, n, false).unwrap().features;
    let scale = want.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let d = max_abs_diff(&got, &want);
    println!("{n} images: max |Δ| = {d:.2e} (max |x| = {scale:.2})");
    assert!(d <= 1e-3 * scale, "features differ by {d}");
}

/// f16 on wgpu, pretrained MobileNetV2 (zoo weights, no shared data needed): on two generated
/// inputs its features and logits stay within 5e-2 of the CPU's f32 ones relative to their
/// largest value, cosine ≥ 0.999 per image; where the shared reference is present, the cat is
/// still classified as its PyTorch top-1. On an adapter without 16-bit float shaders, f16 is
/// refused with an error naming it.
#[test]
fn f16_forward_follows_f32_or_is_refused() {
    let Some(selected) = wgpu_or_skip() else {
        return;
    };
    let config = |device, precision| {
        let mut c = FeaturizerConfig::new(Backbone::MobileNetV2);
        c.levels = vec![FeatureLevel::Highest];
        c.device = device;
        c.precision = precision;
        c
    };
    let half = match ImageFeaturizer::new(config(DeviceChoice::Wgpu, Precision::F16)) {
        Ok(f) => f,
        Err(e) => {
            let e = e.to_string();
            println!("f16 refused: {e}");
            assert!(!selected.device.supports_dtype(burn::tensor::DType::F16));
            assert!(
                e.contains("16-bit") && e.contains(&selected.description),
                "{e}"
            );
            return;
        }
    };
    assert_eq!(half.precision(), Precision::F16);
    let full = ImageFeaturizer::new(config(DeviceChoice::Cpu, Precision::F32))
        .expect("weights fetched from the zoo and loaded");
    let n = 2;
    let input = pseudo_random(n * full.preprocess_config().input_len(), 9);
    let want = full.run_batch(input.clone(), n, true).unwrap();
    let got = half.run_batch(input, n, true).unwrap();
    for (what, w, g) in [
        ("features", &want.features, &got.features),
        (
            "logits",
            want.logits.as_ref().unwrap(),
            got.logits.as_ref().unwrap(),
        ),
    ] {
        let scale = w.iter().fold(0f32, |m, v| m.max(v.abs()));
        let d = max_abs_diff(w, g);
        let per = w.len() / n;
        let cos: Vec<f64> = (0..n)
            .map(|i| cosine(&w[i * per..(i + 1) * per], &g[i * per..(i + 1) * per]))
            .collect();
        println!(
            "f16 on wgpu vs f32 on the CPU, {what}: max |Δ| = {d:.2e} (max |x| = {scale:.2}), cosine {cos:?}"
        );
        assert!(scale > 0.1, "{what}: degenerate output (max |x| = {scale})");
        assert!(d <= 5e-2 * scale, "{what} differ by {d}");
        assert!(cos.iter().all(|&c| c >= 0.999), "{what}: cosine {cos:?}");
    }
    if let Some(dir) = reference_dir() {
        let bb = dir.join("backbones");
        let out = half
            .run_batch(read_f32(&bb.join("mnv2_chelsea_in.f32")), 1, true)
            .unwrap();
        let want_logits = read_f32(&bb.join("mnv2_chelsea_logits.f32"));
        assert_eq!(argmax(&out.logits.unwrap()), argmax(&want_logits));
    }
}

/// Logits and pooled features on the reference input within 1e-3, and the full
/// decode → preprocess → forward path classifying the cat as a cat.
fn check_reference(backbone: Backbone, tag: &str) {
    let Some(dir) = reference_dir() else { return };
    if wgpu_or_skip().is_none() {
        return;
    }
    let mut config = FeaturizerConfig::new(backbone);
    config.levels = vec![FeatureLevel::Highest];
    config.device = DeviceChoice::Wgpu;
    config.batch_size = 1;
    let featurizer = ImageFeaturizer::new(config).expect("weights fetched from the zoo and loaded");
    assert!(featurizer.device_description().starts_with("wgpu"));

    let bb = dir.join("backbones");
    let input = read_f32(&bb.join(format!("{tag}_chelsea_in.f32")));
    let out = featurizer.run_batch(input, 1, true).unwrap();
    let logits = out.logits.unwrap();
    let d_logits = max_abs_diff(
        &logits,
        &read_f32(&bb.join(format!("{tag}_chelsea_logits.f32"))),
    );
    let d_feat = max_abs_diff(
        &out.features,
        &read_f32(&bb.join(format!("{tag}_chelsea_feat.f32"))),
    );
    println!("{backbone} on wgpu: max |Δlogit| = {d_logits:.3e}, max |Δfeature| = {d_feat:.3e}");
    assert!(d_logits <= 1e-3, "{backbone}: logits differ by {d_logits}");
    assert!(d_feat <= 1e-3, "{backbone}: features differ by {d_feat}");

    let top = featurizer.classify_paths(&[dir.join("chelsea.png")]);
    let top1 = argmax(top[0].as_ref().unwrap());
    println!("{backbone} on wgpu: chelsea top-1 = {top1}");
    assert!(
        (281..=285).contains(&top1),
        "{backbone}: chelsea top-1 {top1}"
    );
}

#[test]
fn mobilenet_v2_matches_reference_on_wgpu() {
    check_reference(Backbone::MobileNetV2, "mnv2");
}

#[test]
fn efficientnet_lite0_matches_reference_on_wgpu() {
    check_reference(Backbone::EfficientNetLite0, "lite0");
}

#[test]
fn efficientnet_lite1_matches_reference_on_wgpu() {
    check_reference(Backbone::EfficientNetLite1, "lite1");
}

#[test]
fn efficientnet_lite2_matches_reference_on_wgpu() {
    check_reference(Backbone::EfficientNetLite2, "lite2");
}

#[test]
fn resnet50_1by2_matches_the_pytorch_rebuild_on_wgpu() {
    if wgpu_or_skip().is_some() {
        super::resnet::check_resnet_reference(DeviceChoice::Wgpu, false, 1e-3);
    }
}

/// MiniLM on wgpu: the sentence-transformers reference (when present) within 1e-4 and the CPU
/// backend's embeddings within 1e-4, texts of different lengths in one padded batch.
#[test]
fn minilm_on_wgpu_matches_the_cpu_and_the_reference() {
    use neural::text::{SentenceEmbedder, SentenceEmbedderConfig};
    if wgpu_or_skip().is_none() {
        return;
    }
    let config = SentenceEmbedderConfig {
        device: DeviceChoice::Wgpu,
        ..Default::default()
    };
    let gpu = SentenceEmbedder::new(config).expect("MiniLM from the zoo");
    let reference: Option<serde_json::Value> = minilm_reference()
        .map(|path| serde_json::from_slice(&std::fs::read(path).unwrap()).expect("reference JSON"));
    let mut texts: Vec<String> = vec![
        "A short one.".into(),
        "Lyrics about the long road home, the rain on the windshield and the radio playing \
         an old song we used to know by heart."
            .into(),
        String::new(),
    ];
    if let Some(cases) = reference.as_ref().and_then(|r| r.as_array()) {
        texts.extend(
            cases
                .iter()
                .map(|c| c["text"].as_str().unwrap().to_string()),
        );
    }
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let on_gpu = gpu.embed(&refs).unwrap();
    let on_cpu = super::minilm::embedder().embed(&refs).unwrap();
    for (i, text) in refs.iter().enumerate() {
        let diff = max_abs_diff(&on_gpu.row(i).to_vec(), &on_cpu.row(i).to_vec());
        println!("{text:?}: wgpu vs CPU max |Δ| = {diff:.2e}");
        assert!(diff <= 1e-4, "{text:?}: wgpu vs CPU max |Δ| = {diff}");
    }
    if let Some(cases) = reference.as_ref().and_then(|r| r.as_array()) {
        for (k, case) in cases.iter().enumerate() {
            let want = json_f32(&case["embedding"]);
            let row = on_gpu.row(3 + k).to_vec();
            let diff = max_abs_diff(&row, &want);
            let cos = cosine(&row, &want);
            assert!(
                diff <= 1e-4 && cos >= 0.9999,
                "{:?}: max |Δ| = {diff}, cosine {cos}",
                refs[3 + k]
            );
        }
    }
}

/// The self-normalizing net trained by burn on wgpu follows the native CPU engine (same seed:
/// same initial weights, batches and dropout draws), sparse block included.
#[test]
fn snn_trained_on_wgpu_follows_the_native_engine() {
    use blueprints::{Estimator, Features, FitContext};
    use neural::SelfNormalizingNet;
    if wgpu_or_skip().is_none() {
        return;
    }
    // 120 rows: 12 held out for early stopping, 108 = 3 batches of 36 (few shapes to autotune).
    let (n, nd, ns) = (120, 6, 40);
    let noise = pseudo_random(n * nd, 7);
    let mut dense = ndarray::Array2::<f32>::zeros((n, nd));
    let mut t = sprs::TriMat::new((n, ns));
    let mut y = Vec::with_capacity(n);
    for i in 0..n {
        let c = (i % 3) as u32;
        for j in 0..nd {
            dense[[i, j]] = noise[i * nd + j] + if j == c as usize { 1.5 } else { 0.0 };
        }
        t.add_triplet(i, c as usize * 10 + i % 7, 1.0f32);
        y.push(c);
    }
    let x = Features {
        dense: Some(dense),
        sparse: Some(t.to_csr()),
        names: vec![],
    };
    let fit = |backend: &str| {
        let mut net = SelfNormalizingNet::default();
        for (k, v) in [("hidden_size", "32"), ("epochs", "6"), ("batch_size", "36")] {
            net.set_param(k, v).unwrap();
        }
        net.set_param("backend", backend).unwrap();
        net.fit(&x, &y, &FitContext::new(3, 4)).unwrap();
        net
    };
    let (gpu, cpu) = (fit("burn-wgpu"), fit("native"));
    let on = gpu.trained_on().unwrap().to_string();
    println!("trained on {on}");
    assert!(on.starts_with("burn (wgpu"), "{on}");
    let (pg, pc) = (
        gpu.predict_proba(&x).unwrap(),
        cpu.predict_proba(&x).unwrap(),
    );
    let diff = max_abs_diff(pg.as_slice().unwrap(), pc.as_slice().unwrap());
    println!("burn-wgpu vs native: max |Δp| = {diff:.2e}");
    assert!(diff < 2e-3, "burn-wgpu vs native: max |Δp| = {diff}");
    let pred = blueprints::metrics::argmax_rows(pg.view());
    let ba = blueprints::metrics::balanced_accuracy(&y, &pred, 3).unwrap();
    assert!(ba > 0.75, "balanced accuracy {ba} (chance 0.33)");
}

/// The fine-tuned CNN trains on wgpu (autodiff through the depthwise and pointwise
/// convolutions of the tail) and follows the CPU backend from the same start and batches.
#[test]
fn fine_tuned_cnn_trained_on_wgpu_follows_the_cpu() {
    use blueprints::{Estimator, Features, FitContext};
    use neural::finetune::{FineTunedCnn, TrainDevice};
    if wgpu_or_skip().is_none() {
        return;
    }
    // 8 rows of MobileNetV2 trunk maps (4 views × 160 × 7 × 7); class c lifts channels
    // 10c..10c+10. One batch, no held-out rows: few shapes for lavapipe to autotune.
    let len = 160 * 7 * 7;
    let (n, views) = (8, 4);
    let noise = pseudo_random(n * views * len, 3);
    let y: Vec<u32> = (0..n as u32).map(|i| i % 2).collect();
    let x = ndarray::Array2::from_shape_fn((n, views * len), |(r, j)| {
        let lift = if (j % len) / 49 / 10 == y[r] as usize {
            1.5
        } else {
            0.0
        };
        (noise[r * views * len + j] + lift).max(0.0)
    });
    let x = Features::dense(x);
    let fit = |device: TrainDevice| {
        let mut e = FineTunedCnn::new(Backbone::MobileNetV2);
        e.random_start = true;
        e.params.epochs = 2;
        e.params.batch_size = 8;
        e.params.validation_fraction = 0.0;
        e.params.device = device;
        e.fit(&x, &y, &FitContext::new(2, 5)).unwrap();
        e
    };
    let (gpu, cpu) = (fit(TrainDevice::Wgpu), fit(TrainDevice::Cpu));
    let on = gpu.trained_on().unwrap().to_string();
    println!("trained on {on}");
    assert!(on.starts_with("wgpu"), "{on}");
    let (pg, pc) = (
        gpu.predict_proba(&x).unwrap(),
        cpu.predict_proba(&x).unwrap(),
    );
    let diff = max_abs_diff(pg.as_slice().unwrap(), pc.as_slice().unwrap());
    println!("fine-tuned on wgpu vs cpu: max |Δp| = {diff:.2e}");
    assert!(diff < 1e-2, "wgpu vs cpu: max |Δp| = {diff}");
}

/// The ResNet's tail (layer 4: its first bottleneck's strided 1×1 convolutions pick every
/// other position of channels-last maps) trains on wgpu as on the CPU: the same logits and
/// gradients from the same weights and maps.
#[test]
fn resnet_tail_gradients_on_wgpu_follow_the_cpu() {
    use burn::tensor::activation::log_softmax;
    use neural::finetune::TailNet;
    use rand::SeedableRng;
    let Some(selected) = wgpu_or_skip() else {
        return;
    };
    let backbone = Backbone::ResNet50Half;
    let level = FeatureLevel::Trunk;
    let (c, side) = (level.map_shape(&backbone.arch(), 224).0, 9);
    let x = pseudo_random(2 * c * side * side, 4);
    let run = |device: &Device| {
        let rng = &mut rand_chacha::ChaCha8Rng::seed_from_u64(6);
        let tail = TailNet::empty(backbone, level, 3, device)
            .randomized(rng)
            .train();
        let x = Tensor::<4>::from_data(TensorData::new(x.clone(), [2, c, side, side]), device)
            .autodiff()
            .require_grad();
        let logits = tail.forward(x.clone(), None);
        let grads = log_softmax(logits.clone(), 1).sum().neg().backward();
        let first = &tail.body.bottlenecks[0];
        let weight = first.shortcut.as_ref().unwrap().conv.weight.val();
        let input: Tensor<4> = x.grad(&grads).unwrap();
        let weight: Tensor<4> = weight.grad(&grads).unwrap();
        let [o, i, _, _] = weight.dims();
        [
            host(logits),
            host(input.reshape([2, c * side * side])),
            host(weight.reshape([o, i])),
        ]
    };
    let cpu = run(&select_device(DeviceChoice::Cpu).unwrap().device);
    let gpu = run(&selected.device);
    for (what, (want, got)) in ["logits", "input gradient", "shortcut weight gradient"]
        .iter()
        .zip(cpu.iter().zip(&gpu))
    {
        let scale = want.iter().fold(1e-6f32, |m, v| m.max(v.abs()));
        let diff = max_abs_diff(want, got);
        println!("{what}: max |Δ| {diff:.2e} (largest |value| {scale:.2e})");
        assert!(want.iter().any(|&v| v != 0.0), "{what} all zero");
        assert!(diff <= 1e-3 * scale, "{what}: max |Δ| {diff} of {scale}");
    }
}
