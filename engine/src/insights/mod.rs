//! Model insights: which input columns matter ([`crate::model::importance`], computed below the scheduler, which uses it too), where the model confuses
//! classes ([`confusion`]; [`roc`] for a binary target, [`regression`] for a numeric one), where in an image it looks ([`activation_maps`], [`grad_cam`]), how images group
//! ([`embeddings_2d`], [`tsne`]), which words mark a class ([`word_cloud`]), and one HTML file
//! with all of them ([`report`]).
//!
//! Every insight is a function returning data (serializable, for tables and JSON) plus a
//! renderer writing PNG/SVG figures ([`charts`]); [`context`] loads a saved model with everything
//! it needs from a project folder and [`generate`] runs the selected insights into a folder.

pub mod activation_maps;
pub mod charts;
pub mod confusion;
pub mod context;
pub mod embeddings_2d;
pub mod folder;
pub mod generate;
pub mod grad_cam;
pub mod regression;
pub mod report;
pub mod roc;
pub mod tsne;
pub mod word_cloud;

mod error;

pub use crate::model::importance::{
    ColumnImpact, FeatureImpact, FeatureImpactOptions, ValidationSet, permutation_impact,
    permutation_impact_cv,
};
pub use context::InsightContext;
pub use error::InsightError;
pub use folder::InsightsFolder;
pub use generate::{ClassFilter, InsightOutputs, InsightSettings, Selection, write_insights};
