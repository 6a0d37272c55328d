//! The part of a backbone after the trunk map — its last stage or stages (and the
//! inverted-residual nets' 1×1 head) and a classifier — on the CPU kernels: how the fine-tuned
//! CNN predicts on the CPU (trained weights, batch norms folded). Maps run in parallel, one
//! per thread.

use rayon::prelude::*;

use super::pointwise::PointwiseWeights;
use super::resnet::{self, Maps};
use super::{
    Block, Clock, Workspace, average_pool, classify, dense, linear_of, pooled_head, sized,
};
use crate::backbone::PaddingStyle;
use crate::error::{NeuralError, Result};
use crate::finetune::TailBody;
use crate::kept::with_kept;
use burn::nn::Linear;

/// The layers between the trunk map and the pooled features, of either family.
#[derive(Debug, Clone)]
enum Stages {
    /// Inverted-residual blocks and the 1×1 head.
    Inverted {
        blocks: Vec<Block>,
        head: PointwiseWeights,
        padding: PaddingStyle,
    },
    /// The ResNet's bottlenecks.
    Bottleneck(Vec<resnet::Bottleneck>),
}

/// A fine-tuned tail ready for CPU inference.
#[derive(Debug, Clone)]
pub struct CpuTail {
    stages: Stages,
    classifier: PointwiseWeights,
}

/// A worker's buffers for either family.
#[derive(Default)]
struct Buffers {
    inverted: Workspace,
    bottleneck: Maps,
}

impl CpuTail {
    /// Copies batch-norm-folded layers (as [`crate::finetune`]'s tail holds them); `padding`
    /// is the inverted-residual backbone's.
    pub fn new(body: &TailBody, classifier: &Linear, padding: PaddingStyle) -> Result<Self> {
        let stages = match (&body.head, body.bottlenecks.is_empty()) {
            (Some(head), true) => Stages::Inverted {
                blocks: body.blocks.iter().map(Block::of).collect::<Result<_>>()?,
                head: dense(head)?,
                padding,
            },
            (None, _) if body.blocks.is_empty() => Stages::Bottleneck(
                body.bottlenecks
                    .iter()
                    .map(resnet::Bottleneck::from_burn)
                    .collect::<Result<_>>()?,
            ),
            _ => {
                return Err(NeuralError::InvalidConfig(
                    "a tail mixes inverted-residual blocks and bottlenecks".into(),
                ));
            }
        };
        Ok(CpuTail {
            stages,
            classifier: linear_of(classifier)?,
        })
    }

    /// Logits (`n × classes`, row-major) of `n` trunk maps, each `[c, h, w]` channels first.
    pub fn logits(&self, maps: &[f32], n: usize, [c, h, w]: [usize; 3]) -> Result<Vec<f32>> {
        let per_map = c * h * w;
        if n == 0 || maps.len() != n * per_map {
            return Err(NeuralError::InvalidConfig(format!(
                "{n} trunk maps of {c}×{h}×{w} need {} values, got {}",
                n * per_map,
                maps.len()
            )));
        }
        let rows: Vec<Vec<f32>> = maps
            .par_chunks(per_map)
            .map(|map| with_kept(|bufs: &mut Buffers| self.one(map, [c, h, w], bufs)))
            .collect();
        Ok(rows.concat())
    }

    fn one(&self, map: &[f32], [c, h, w]: [usize; 3], bufs: &mut Buffers) -> Vec<f32> {
        let mut clock = Clock::new(false);
        let pooled = match &self.stages {
            Stages::Inverted {
                blocks,
                head,
                padding,
            } => {
                let ws = &mut bufs.inverted;
                channels_last(map, [c, h, w], &mut ws.x);
                let mut shape = (h, w, c);
                for b in blocks {
                    shape = b.run(*padding, shape, ws, false, &mut clock);
                }
                pooled_head(head, shape, ws, false)
            }
            Stages::Bottleneck(blocks) => {
                let maps = &mut bufs.bottleneck;
                channels_last(map, [c, h, w], &mut maps.x);
                let mut shape = [h, w, c];
                for b in blocks {
                    shape = b.run(shape, maps, false, &mut clock);
                }
                let [h, w, c] = shape;
                average_pool(&maps.x, h * w, c)
            }
        };
        classify(&self.classifier, &pooled)
    }
}

/// A `[c, h, w]` map (channels first) into `x` channels last.
fn channels_last(map: &[f32], [c, h, w]: [usize; 3], x: &mut Vec<f32>) {
    let x = sized(x, h * w * c);
    for (p, px) in x.chunks_exact_mut(c).enumerate() {
        for (ch, v) in px.iter_mut().enumerate() {
            *v = map[ch * h * w + p];
        }
    }
}
