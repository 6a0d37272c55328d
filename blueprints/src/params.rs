//! Typed hyperparameters: listable and settable by name (advanced tuning).

use serde::{Deserialize, Serialize};

use crate::error::{BlueprintError, Result};

/// The set of values a hyperparameter may take.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ParamDomain {
    /// A real number in `[min, max]`; `log` says the natural search scale is logarithmic.
    Float { min: f64, max: f64, log: bool },
    /// An integer in `[min, max]`.
    Int { min: i64, max: i64 },
    /// One of a fixed list of names.
    Choice(Vec<String>),
    /// `true` or `false`.
    Bool,
}

/// One hyperparameter as shown to a user: name, current value, allowed values, meaning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParamSpec {
    pub name: String,
    pub value: String,
    pub domain: ParamDomain,
    pub help: String,
}

impl ParamSpec {
    /// Builds a spec from its parts.
    pub fn new(name: &str, value: impl ToString, domain: ParamDomain, help: &str) -> Self {
        Self {
            name: name.to_string(),
            value: value.to_string(),
            domain,
            help: help.to_string(),
        }
    }
}

/// One hyperparameter of a search space: the candidate values to try (the default among them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchDim {
    /// Hyperparameter name, as [`crate::Estimator::set_param`] takes it.
    pub name: String,
    /// Candidate values, in the order a path is fitted (e.g. increasing `C`).
    pub values: Vec<String>,
    /// Whether the values are fitted in sequence, each warm-started from the previous
    /// ([`crate::Estimator::fit_path`]), instead of counting as separate configurations.
    pub path: bool,
}

impl SearchDim {
    /// A dimension from string values.
    pub fn new(name: &str, values: &[&str], path: bool) -> Self {
        Self {
            name: name.to_string(),
            values: values.iter().map(|v| v.to_string()).collect(),
            path,
        }
    }
}

impl std::fmt::Display for ParamDomain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParamDomain::Float { min, max, log } => {
                write!(
                    f,
                    "real in [{min}, {max}]{}",
                    if *log { " (log scale)" } else { "" }
                )
            }
            ParamDomain::Int { min, max } => write!(f, "integer in [{min}, {max}]"),
            ParamDomain::Choice(c) => write!(f, "one of {}", c.join(", ")),
            ParamDomain::Bool => write!(f, "true or false"),
        }
    }
}

fn invalid(name: &str, value: &str, domain: &ParamDomain) -> BlueprintError {
    BlueprintError::InvalidParam {
        name: name.to_string(),
        value: value.to_string(),
        reason: format!("expected {domain}"),
    }
}

/// Parses `value` as a float inside `[min, max]`.
pub fn parse_float(name: &str, value: &str, min: f64, max: f64) -> Result<f64> {
    let d = ParamDomain::Float {
        min,
        max,
        log: false,
    };
    match value.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v >= min && v <= max => Ok(v),
        _ => Err(invalid(name, value, &d)),
    }
}

/// Parses `value` as an integer inside `[min, max]`.
pub fn parse_int(name: &str, value: &str, min: i64, max: i64) -> Result<i64> {
    let d = ParamDomain::Int { min, max };
    match value.trim().parse::<i64>() {
        Ok(v) if v >= min && v <= max => Ok(v),
        _ => Err(invalid(name, value, &d)),
    }
}

/// Parses `value` as a boolean (`true/false/1/0/yes/no`).
pub fn parse_bool(name: &str, value: &str) -> Result<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(invalid(name, value, &ParamDomain::Bool)),
    }
}

/// Checks that `value` is one of `choices` and returns it.
pub fn parse_choice(name: &str, value: &str, choices: &[&str]) -> Result<String> {
    let v = value.trim();
    if choices.contains(&v) {
        Ok(v.to_string())
    } else {
        Err(invalid(
            name,
            value,
            &ParamDomain::Choice(choices.iter().map(|s| s.to_string()).collect()),
        ))
    }
}

/// The error for a parameter name that `task` does not have.
pub fn unknown_param(task: &str, name: &str, specs: &[ParamSpec]) -> BlueprintError {
    BlueprintError::UnknownParam {
        task: task.to_string(),
        name: name.to_string(),
        valid: specs
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses() {
        assert_eq!(parse_float("lr", "0.5", 0.0, 1.0).unwrap(), 0.5);
        assert!(parse_float("lr", "2", 0.0, 1.0).is_err());
        assert!(parse_float("lr", "nan", 0.0, 1.0).is_err());
        assert_eq!(parse_int("depth", "3", 1, 10).unwrap(), 3);
        assert!(parse_int("depth", "3.5", 1, 10).is_err());
        assert!(parse_bool("b", "yes").unwrap());
        let e = parse_choice("solver", "x", &["a", "b"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("one of a, b"), "{e}");
    }
}
