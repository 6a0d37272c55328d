//! Feature levels: pooled activations taken at several depths of a backbone.

use crate::backbone::{ArchSpec, Family};
use crate::error::{NeuralError, Result};

/// A depth at which activations are global-average-pooled into features
/// (the "low / medium / high / highest level" image features of DataRobot Visual AI).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FeatureLevel {
    /// End of the stride-8 stage (MobileNetV2: 32 channels, Lite: 40/48; ResNet-50-1by2: its
    /// first stage, 128 channels at stride 4).
    Low,
    /// End of the last stride-16 stage (MobileNetV2: 96 channels, Lite: 112/120; ResNet-50-1by2:
    /// its second stage, 256 channels at stride 8).
    Medium,
    /// Output of the last inverted-residual block (320/352 channels; ResNet-50-1by2: its third
    /// stage, 512 channels at stride 16).
    High,
    /// The 1280-channel head, i.e. the ImageNet classifier's input (ResNet-50-1by2: its last
    /// stage, 1024 channels, its classifier's input).
    Highest,
    /// Not pooled: the activation map feeding the last stage (MobileNetV2: 160 × 7 × 7 at 224
    /// pixels), for [`TRUNK_VIEWS`] augmented views of the image side by side — what the
    /// fine-tuned CNN ([`crate::finetune`]) trains its tail on. Used alone, never mixed with
    /// the pooled levels.
    Trunk,
    /// Like [`FeatureLevel::Trunk`], one stage lower: the map feeding the last two stages
    /// (MobileNetV2: 96 × 14 × 14 at 224 pixels), for a fine-tuned CNN that trains both.
    Trunk2,
    /// Like [`FeatureLevel::Trunk`], two stages lower: the map feeding the last three stages
    /// (MobileNetV2: 64 × 14 × 14 at 224 pixels), for a fine-tuned CNN that trains all three.
    Trunk3,
}

/// Views of each image in a [`FeatureLevel::Trunk`] row, in this order: the centre crop, its
/// mirror image, a zoomed centre crop (the shorter side resized to [`TRUNK_ZOOM`] × the usual
/// size before cropping) and its mirror image.
pub const TRUNK_VIEWS: usize = 4;

/// How much the zoomed trunk views enlarge the image before the centre crop.
pub const TRUNK_ZOOM: f64 = 1.25;

impl FeatureLevel {
    /// All pooled levels, shallow to deep.
    pub const ALL: [FeatureLevel; 4] = [
        FeatureLevel::Low,
        FeatureLevel::Medium,
        FeatureLevel::High,
        FeatureLevel::Highest,
    ];

    /// The default levels: high + highest.
    pub fn defaults() -> Vec<FeatureLevel> {
        vec![FeatureLevel::High, FeatureLevel::Highest]
    }

    /// The trunk levels, by the number of stages above them (1, 2, 3).
    pub const TRUNKS: [FeatureLevel; 3] = [
        FeatureLevel::Trunk,
        FeatureLevel::Trunk2,
        FeatureLevel::Trunk3,
    ];

    /// The unpooled trunk level under the last `stages` stages (1 to 3).
    pub fn trunk(stages: usize) -> Option<FeatureLevel> {
        stages
            .checked_sub(1)
            .and_then(|i| FeatureLevel::TRUNKS.get(i).copied())
    }

    /// Lower-case name (`low`, `medium`, `high`, `highest`, `trunk`, `trunk2`, `trunk3`).
    pub fn name(self) -> &'static str {
        match self {
            FeatureLevel::Low => "low",
            FeatureLevel::Medium => "medium",
            FeatureLevel::High => "high",
            FeatureLevel::Highest => "highest",
            FeatureLevel::Trunk => "trunk",
            FeatureLevel::Trunk2 => "trunk2",
            FeatureLevel::Trunk3 => "trunk3",
        }
    }

    /// Parses a level name.
    pub fn from_name(name: &str) -> Result<Self> {
        let norm = name.trim().to_ascii_lowercase();
        FeatureLevel::ALL
            .into_iter()
            .chain(FeatureLevel::TRUNKS)
            .find(|l| l.name() == norm)
            .ok_or_else(|| NeuralError::UnknownLevel(name.to_string()))
    }

    /// Parses a comma-separated list such as `"high,highest"` (sorted, deduplicated).
    pub fn parse_list(list: &str) -> Result<Vec<FeatureLevel>> {
        let mut levels = list
            .split(',')
            .filter(|s| !s.trim().is_empty())
            .map(FeatureLevel::from_name)
            .collect::<Result<Vec<_>>>()?;
        levels.sort();
        levels.dedup();
        if levels.is_empty() {
            return Err(NeuralError::InvalidConfig("no feature level given".into()));
        }
        Ok(levels)
    }

    /// Index of the stage whose last block is tapped (None for the head), in a net of
    /// `family`: of the seven inverted-residual stages, or of the four bottleneck stages (low,
    /// medium, high and highest are their four outputs, strides 4 to 32).
    pub(crate) fn stage(self, family: Family) -> Option<usize> {
        if family == Family::Bottleneck {
            return match self {
                FeatureLevel::Low | FeatureLevel::Trunk3 => Some(0),
                FeatureLevel::Medium | FeatureLevel::Trunk2 => Some(1),
                FeatureLevel::High | FeatureLevel::Trunk => Some(2),
                FeatureLevel::Highest => None,
            };
        }
        match self {
            FeatureLevel::Low => Some(2),
            FeatureLevel::Medium => Some(4),
            FeatureLevel::Trunk => Some(5),
            FeatureLevel::Trunk2 => Some(4),
            FeatureLevel::Trunk3 => Some(3),
            FeatureLevel::High => Some(6),
            FeatureLevel::Highest => None,
        }
    }

    /// Whether the level's activations are global-average-pooled (all but the trunks).
    pub fn is_pooled(self) -> bool {
        !FeatureLevel::TRUNKS.contains(&self)
    }

    /// `(channels, height, width)` of this level's map in `arch` on a `side` × `side` input
    /// (the head's for [`FeatureLevel::Highest`]).
    pub fn map_shape(self, arch: &ArchSpec, side: usize) -> (usize, usize, usize) {
        let blocks = arch.blocks();
        let last = match self.stage(arch.family) {
            Some(s) => arch.stage_ends()[s] + 1,
            None => blocks.len(),
        };
        let hw = blocks[..last]
            .iter()
            .fold(arch.stem_side(side), |hw, b| hw.div_ceil(b.stride));
        (self.channels(arch), hw, hw)
    }

    /// Values this level adds to an image's feature row in `arch` on a `side` × `side` input:
    /// a pooled level's channels, or [`TRUNK_VIEWS`] trunk maps.
    pub fn features_per_image(self, arch: &ArchSpec, side: usize) -> usize {
        if self.is_pooled() {
            self.channels(arch)
        } else {
            let (c, h, w) = self.map_shape(arch, side);
            TRUNK_VIEWS * c * h * w
        }
    }

    /// Number of channels of this level in the given architecture (a pooled level's feature
    /// count).
    pub fn channels(self, arch: &ArchSpec) -> usize {
        match self.stage(arch.family) {
            Some(s) => arch.stages[s].out_channels,
            None => arch.head_channels,
        }
    }
}

impl std::fmt::Display for FeatureLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backbone::Backbone;

    #[test]
    fn level_channels() {
        let mnv2 = Backbone::MobileNetV2.arch();
        let dims: Vec<usize> = FeatureLevel::ALL
            .iter()
            .map(|l| l.channels(&mnv2))
            .collect();
        assert_eq!(dims, vec![32, 96, 320, 1280]);
        let lite0 = Backbone::EfficientNetLite0.arch();
        let dims: Vec<usize> = FeatureLevel::ALL
            .iter()
            .map(|l| l.channels(&lite0))
            .collect();
        assert_eq!(dims, vec![40, 112, 320, 1280]);
        let resnet = Backbone::ResNet50Half.arch();
        let shapes: Vec<_> = FeatureLevel::ALL
            .iter()
            .map(|l| l.map_shape(&resnet, 224))
            .collect();
        assert_eq!(
            shapes,
            vec![(128, 56, 56), (256, 28, 28), (512, 14, 14), (1024, 7, 7)]
        );
    }

    #[test]
    fn the_trunks_are_the_maps_feeding_the_last_stages() {
        let (mnv2, lite0) = (
            Backbone::MobileNetV2.arch(),
            Backbone::EfficientNetLite0.arch(),
        );
        assert_eq!(FeatureLevel::Trunk.map_shape(&mnv2, 224), (160, 7, 7));
        assert_eq!(FeatureLevel::Trunk.map_shape(&lite0, 224), (192, 7, 7));
        assert_eq!(FeatureLevel::Trunk2.map_shape(&mnv2, 224), (96, 14, 14));
        assert_eq!(FeatureLevel::Trunk2.map_shape(&lite0, 224), (112, 14, 14));
        assert_eq!(FeatureLevel::Highest.map_shape(&mnv2, 224), (1280, 7, 7));
        let lite2 = Backbone::EfficientNetLite2.arch();
        assert_eq!(FeatureLevel::Trunk.map_shape(&lite2, 260).1, 9);
        assert_eq!(FeatureLevel::Trunk2.map_shape(&lite2, 260).1, 17);
        assert_eq!(FeatureLevel::Trunk3.map_shape(&mnv2, 224), (64, 14, 14));
        assert_eq!(FeatureLevel::Trunk3.map_shape(&lite0, 224), (80, 14, 14));
        assert_eq!(FeatureLevel::trunk(2), Some(FeatureLevel::Trunk2));
        assert_eq!(FeatureLevel::trunk(3), Some(FeatureLevel::Trunk3));
        assert_eq!(FeatureLevel::trunk(0), None);
        assert_eq!(FeatureLevel::trunk(4), None);
        assert!(!FeatureLevel::Trunk2.is_pooled() && !FeatureLevel::Trunk3.is_pooled());
        assert_eq!(
            FeatureLevel::from_name("trunk3").unwrap(),
            FeatureLevel::Trunk3
        );
        assert_eq!(
            FeatureLevel::from_name("Trunk").unwrap(),
            FeatureLevel::Trunk
        );
        assert!(!FeatureLevel::Trunk.is_pooled() && FeatureLevel::High.is_pooled());
    }

    #[test]
    fn parse_list_sorts_and_dedups() {
        let l = FeatureLevel::parse_list("highest, low,highest").unwrap();
        assert_eq!(l, vec![FeatureLevel::Low, FeatureLevel::Highest]);
        assert!(FeatureLevel::parse_list("deep").is_err());
        assert!(FeatureLevel::parse_list("").is_err());
    }
}
