//! Feature levels: pooled activations taken at several depths of a backbone.

use crate::backbone::ArchSpec;
use crate::error::{NeuralError, Result};

/// A depth at which activations are global-average-pooled into features
/// (the "low / medium / high / highest level" image features of DataRobot Visual AI).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FeatureLevel {
    /// End of the stride-8 stage (MobileNetV2: 32 channels, Lite: 40/48).
    Low,
    /// End of the last stride-16 stage (MobileNetV2: 96 channels, Lite: 112/120).
    Medium,
    /// Output of the last inverted-residual block (320/352 channels).
    High,
    /// The 1280-channel head, i.e. the ImageNet classifier's input.
    Highest,
}

impl FeatureLevel {
    /// All levels, shallow to deep.
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

    /// Lower-case name (`low`, `medium`, `high`, `highest`).
    pub fn name(self) -> &'static str {
        match self {
            FeatureLevel::Low => "low",
            FeatureLevel::Medium => "medium",
            FeatureLevel::High => "high",
            FeatureLevel::Highest => "highest",
        }
    }

    /// Parses a level name.
    pub fn from_name(name: &str) -> Result<Self> {
        let norm = name.trim().to_ascii_lowercase();
        FeatureLevel::ALL
            .into_iter()
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

    /// Index of the stage whose last block is tapped (None for the head).
    pub(crate) fn stage(self) -> Option<usize> {
        match self {
            FeatureLevel::Low => Some(2),
            FeatureLevel::Medium => Some(4),
            FeatureLevel::High => Some(6),
            FeatureLevel::Highest => None,
        }
    }

    /// Number of channels (= features) of this level in the given architecture.
    pub fn channels(self, arch: &ArchSpec) -> usize {
        match self.stage() {
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
    }

    #[test]
    fn parse_list_sorts_and_dedups() {
        let l = FeatureLevel::parse_list("highest, low,highest").unwrap();
        assert_eq!(l, vec![FeatureLevel::Low, FeatureLevel::Highest]);
        assert!(FeatureLevel::parse_list("deep").is_err());
        assert!(FeatureLevel::parse_list("").is_err());
    }
}
