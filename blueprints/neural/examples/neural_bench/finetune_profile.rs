//! Where a fine-tuning step's time goes on burn's CPU backend, per backbone tail (placeholder
//! weights, random trunk maps): the forward pass, forward + backward with the tail's layers
//! channels-first (burn's `conv2d` for every convolution) and channels-last (the 1×1 and dense
//! convolutions as matrix products, the depthwise ones and the ReLUs our own operations: what
//! training runs),
//! and the CPU kernels' forward pass
//! (what scores validation rows on the CPU). Side by side in one run.
//!
//! `RAYON_NUM_THREADS=1 cargo run --release -p autopilot-neural --example neural_bench --
//! finetune_profile [batch]`

use std::time::Instant;

use burn::module::Module;
use burn::tensor::activation::log_softmax;
use burn::tensor::{Distribution, Tensor};
use neural::cpu::tail::CpuTail;
use neural::device::{DeviceChoice, select_device};
use neural::finetune::TailNet;
use neural::net::global_avg_pool;
use neural::{Backbone, FeatureLevel};

/// Mean milliseconds of three calls after a warm-up call.
fn time(f: &dyn Fn()) -> f64 {
    f();
    let start = Instant::now();
    for _ in 0..3 {
        f();
    }
    start.elapsed().as_secs_f64() / 3.0 * 1e3
}

/// The tail's logits with every layer's own (channels-first) forward pass.
fn channels_first_logits(tail: &TailNet, x: Tensor<4>) -> Tensor<2> {
    let mut x = x;
    for block in &tail.body.blocks {
        x = block.forward(x);
    }
    for block in &tail.body.bottlenecks {
        x = block.forward(x);
    }
    if let Some(head) = &tail.body.head {
        x = head.forward(x);
    }
    tail.classifier.forward(global_avg_pool(x))
}

pub fn main(args: Vec<String>) -> super::Outcome {
    let batch: usize = args.first().map_or(Ok(32), |s| s.parse())?;
    let device = select_device(DeviceChoice::Cpu)?.device;
    for name in ["mobilenet-v2", "efficientnet-lite0", "resnet50-1by2"] {
        let b = Backbone::from_name(name)?;
        let level = FeatureLevel::trunk(1).ok_or("no trunk level 1")?;
        let (c, h, w) = level.map_shape(&b.arch(), b.input_size());
        let tail = TailNet::empty(b, level, 6, &device);
        let x = || Tensor::<4>::random([batch, c, h, w], Distribution::Normal(0.0, 1.0), &device);
        let forward = time(&|| {
            let _ = tail.forward(x(), None).into_data();
        });
        let backward = |logits: &dyn Fn(&TailNet, Tensor<4>) -> Tensor<2>| {
            time(&|| {
                let t = tail.clone().train();
                let loss = log_softmax(logits(&t, x().autodiff()), 1).sum().neg();
                let _ = loss.backward();
            })
        };
        let first = backward(&channels_first_logits);
        let last = backward(&|t, x| t.forward(x, None));
        let cpu = CpuTail::new(&tail.body, &tail.classifier, b.arch().padding)?;
        let maps: Vec<f32> = (0..batch * c * h * w)
            .map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0)
            .collect();
        let kernels = time(&|| {
            let _ = cpu.logits(&maps, batch, [c, h, w]).unwrap();
        });
        println!(
            "{name}: trunk {c}×{h}×{w}, batch {batch}: forward {forward:.1} ms (CPU kernels \
             {kernels:.1} ms); forward + backward channels-first {first:.1} ms, channels-last \
             {last:.1} ms ({:.2}×)",
            first / last
        );
    }
    Ok(())
}
