//! The part of a backbone after the trunk map — its last stage, 1×1 head and a classifier — on
//! the CPU kernels: how the fine-tuned CNN predicts on the CPU (trained weights, batch norms
//! folded). Maps run in parallel, one per thread.

use rayon::prelude::*;

use super::pointwise::PointwiseWeights;
use super::{Block, Clock, Workspace, classify, dense, linear_of, pooled_head, sized};
use crate::backbone::PaddingStyle;
use crate::error::{NeuralError, Result};
use crate::net::{ConvBnAct, InvertedResidual};
use burn::nn::Linear;

/// Last-stage blocks, head and classifier ready for CPU inference.
#[derive(Debug, Clone)]
pub struct CpuTail {
    blocks: Vec<Block>,
    head: PointwiseWeights,
    classifier: PointwiseWeights,
    padding: PaddingStyle,
}

impl CpuTail {
    /// Copies batch-norm-folded layers (as [`crate::finetune`]'s tail holds them).
    pub fn new(
        blocks: &[InvertedResidual],
        head: &ConvBnAct,
        classifier: &Linear,
        padding: PaddingStyle,
    ) -> Result<Self> {
        Ok(CpuTail {
            blocks: blocks.iter().map(Block::of).collect::<Result<_>>()?,
            head: dense(head)?,
            classifier: linear_of(classifier)?,
            padding,
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
            .map_init(Workspace::default, |ws, map| self.one(map, [c, h, w], ws))
            .collect();
        Ok(rows.concat())
    }

    fn one(&self, map: &[f32], [c, h, w]: [usize; 3], ws: &mut Workspace) -> Vec<f32> {
        let x = sized(&mut ws.x, h * w * c);
        for (p, px) in x.chunks_exact_mut(c).enumerate() {
            for (ch, v) in px.iter_mut().enumerate() {
                *v = map[ch * h * w + p];
            }
        }
        let mut clock = Clock::new(false);
        let mut shape = (h, w, c);
        for b in &self.blocks {
            shape = b.run(self.padding, shape, ws, false, &mut clock);
        }
        classify(&self.classifier, &pooled_head(&self.head, shape, ws, false))
    }
}
