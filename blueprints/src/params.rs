//! Typed hyperparameters: listable and settable by name (advanced tuning).
//!
//! An estimator declares each hyperparameter once, as a [`Param`] entry of its [`Tunable`]
//! table (name, domain, how to read and write the value, help); the spec list
//! ([`Tunable::param_specs`]) and the setter by name ([`Tunable::set_by_name`]) both come from
//! that table. A value chosen among a few names is an enum declared with [`choice_enum!`].

use std::fmt::Display;
use std::ops::RangeInclusive;

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

/// The kind of target a hyperparameter acts on, for one that acts on one kind only (a
/// regression loss, class weights).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    /// Class labels (binary or multiclass).
    Classification,
    /// A real number.
    Regression,
}

impl TargetKind {
    /// How messages name it.
    pub fn name(self) -> &'static str {
        match self {
            TargetKind::Classification => "classification",
            TargetKind::Regression => "regression",
        }
    }
}

/// One hyperparameter as shown to a user: name, current value, allowed values, meaning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParamSpec {
    pub name: String,
    pub value: String,
    pub domain: ParamDomain,
    pub help: String,
    /// The one kind of target it acts on (`None`: every kind); on another it changes nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub only_for: Option<TargetKind>,
}

impl ParamSpec {
    /// Builds a spec from its parts.
    pub fn new(name: &str, value: impl ToString, domain: ParamDomain, help: &str) -> Self {
        Self {
            name: name.to_string(),
            value: value.to_string(),
            domain,
            help: help.to_string(),
            only_for: None,
        }
    }

    /// Whether it acts on a target of kind `kind`.
    pub fn applies_to(&self, kind: TargetKind) -> bool {
        self.only_for.is_none_or(|k| k == kind)
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

/// How a [`Param`] reads and writes its value on the estimator `E`: `(get, set)`.
/// [`field!`](crate::field) builds one for a plain field.
pub type Access<E, T> = (fn(&E) -> T, fn(&mut E, T));

/// The [`Access`] of a field path of the estimator, e.g. `field!(params.max_bin)`.
#[macro_export]
macro_rules! field {
    ($($path:ident).+) => {
        (|e| e.$($path).+, |e, v| e.$($path).+ = v)
    };
}

/// A hyperparameter whose value is one of a few names: an enum whose names are its serde form
/// (declare it with [`choice_enum!`](crate::choice_enum)).
pub trait Choice: Copy + Display + 'static {
    /// Every value, in the order the domain lists them.
    const ALL: &'static [Self];
    /// The value's name, as shown, parsed and serialized.
    fn name(self) -> &'static str;
}

/// Declares a [`Choice`] enum: each variant with its name, which is also its serde form, e.g.
/// `choice_enum! { pub enum Metric { Cosine = "cosine", Euclidean = "euclidean" } }`.
/// Outer attributes (docs, `#[derive(Default)]`) and variant attributes (`#[default]`) pass through.
#[macro_export]
macro_rules! choice_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, ::serde::Serialize, ::serde::Deserialize)]
        $vis enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),+
        }

        impl $crate::params::Choice for $name {
            const ALL: &'static [Self] = &[$(Self::$variant),+];
            fn name(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str($crate::params::Choice::name(*self))
            }
        }
    };
}

/// One hyperparameter of an estimator `E`, declared once: its name, domain and help, how its
/// value is read (for the [`ParamSpec`]) and how a string is parsed, checked against the domain
/// and written (for the setter).
pub struct Param<E> {
    name: &'static str,
    domain: ParamDomain,
    help: &'static str,
    only_for: Option<TargetKind>,
    render: Box<dyn Fn(&E) -> String>,
    parse_set: Setter<E>,
}

/// Parses a value, checks it and writes it on `E`.
type Setter<E> = Box<dyn Fn(&mut E, &str) -> Result<()>>;

impl<E: 'static> Param<E> {
    fn new<T: Display + 'static>(
        name: &'static str,
        domain: ParamDomain,
        help: &'static str,
        (get, set): Access<E, T>,
        parse: impl Fn(&str) -> Result<T> + 'static,
    ) -> Self {
        Self {
            name,
            domain,
            help,
            only_for: None,
            render: Box::new(move |e| get(e).to_string()),
            parse_set: Box::new(move |e, value| {
                set(e, parse(value)?);
                Ok(())
            }),
        }
    }

    /// A real number in `range`, searched on a linear scale.
    pub fn float(
        name: &'static str,
        range: RangeInclusive<f64>,
        access: Access<E, f64>,
        help: &'static str,
    ) -> Self {
        Self::real(name, range, false, access, help)
    }

    /// A real number in `range`, searched on a logarithmic scale.
    pub fn log_float(
        name: &'static str,
        range: RangeInclusive<f64>,
        access: Access<E, f64>,
        help: &'static str,
    ) -> Self {
        Self::real(name, range, true, access, help)
    }

    fn real(
        name: &'static str,
        range: RangeInclusive<f64>,
        log: bool,
        access: Access<E, f64>,
        help: &'static str,
    ) -> Self {
        let (min, max) = range.into_inner();
        let domain = ParamDomain::Float { min, max, log };
        Self::new(name, domain, help, access, move |v| {
            parse_float(name, v, min, max)
        })
    }

    /// An integer in `range`, held as `T` (`usize`, `i64`, ...).
    pub fn int<T: TryFrom<i64> + Display + 'static>(
        name: &'static str,
        range: RangeInclusive<i64>,
        access: Access<E, T>,
        help: &'static str,
    ) -> Self {
        let (min, max) = range.into_inner();
        let domain = ParamDomain::Int { min, max };
        let d = domain.clone();
        Self::new(name, domain, help, access, move |v| {
            T::try_from(parse_int(name, v, min, max)?).map_err(|_| invalid(name, v, &d))
        })
    }

    /// `true` or `false` (also `1/0/yes/no` when set).
    pub fn bool(name: &'static str, access: Access<E, bool>, help: &'static str) -> Self {
        Self::new(name, ParamDomain::Bool, help, access, move |v| {
            parse_bool(name, v)
        })
    }

    /// One of the names of the [`Choice`] `C`, listed in `C::ALL` order.
    pub fn choice<C: Choice>(name: &'static str, access: Access<E, C>, help: &'static str) -> Self {
        Self::choice_of(name, C::ALL, access, help)
    }

    /// One of `options` (listed in that order in the domain).
    pub fn choice_of<C: Choice>(
        name: &'static str,
        options: &'static [C],
        access: Access<E, C>,
        help: &'static str,
    ) -> Self {
        let domain = ParamDomain::Choice(options.iter().map(|c| c.name().to_string()).collect());
        let d = domain.clone();
        Self::new(name, domain, help, access, move |v| {
            let t = v.trim();
            options
                .iter()
                .copied()
                .find(|c| c.name() == t)
                .ok_or_else(|| invalid(name, v, &d))
        })
    }

    /// The same hyperparameter, acting on targets of kind `kind` only.
    pub fn only_for(mut self, kind: TargetKind) -> Self {
        self.only_for = Some(kind);
        self
    }

    /// The hyperparameter's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Its spec with the current value on `e`.
    pub fn spec(&self, e: &E) -> ParamSpec {
        ParamSpec {
            only_for: self.only_for,
            ..ParamSpec::new(self.name, (self.render)(e), self.domain.clone(), self.help)
        }
    }

    /// Parses `value`, checks it against the domain and writes it on `e`.
    pub fn set(&self, e: &mut E, value: &str) -> Result<()> {
        (self.parse_set)(e, value)
    }
}

/// An estimator (or blender) whose hyperparameters are declared once, in a [`Param`] table.
pub trait Tunable: Sized + 'static {
    /// Every hyperparameter, in the order they are listed.
    fn param_table() -> Vec<Param<Self>>;

    /// The specs with the current values (what `params()` returns).
    fn param_specs(&self) -> Vec<ParamSpec> {
        Self::param_table().iter().map(|p| p.spec(self)).collect()
    }

    /// Sets hyperparameter `name` to `value`; an unknown name is an
    /// [`BlueprintError::UnknownParam`] of `task` that lists the valid ones.
    fn set_by_name(&mut self, task: &str, name: &str, value: &str) -> Result<()> {
        match Self::param_table().iter().find(|p| p.name == name) {
            Some(p) => p.set(self, value),
            None => Err(unknown_param(task, name, &self.param_specs())),
        }
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

    crate::choice_enum! {
        /// A test choice.
        enum Fruit {
            Apple = "apple",
            BloodOrange = "blood-orange",
        }
    }

    struct Toy {
        n: usize,
        fruit: Fruit,
    }

    impl Tunable for Toy {
        fn param_table() -> Vec<Param<Self>> {
            vec![
                Param::int("n", 1..=5, crate::field!(n), "a count"),
                Param::choice("fruit", crate::field!(fruit), "a fruit"),
            ]
        }
    }

    #[test]
    fn one_table_gives_specs_and_setter() {
        let mut t = Toy {
            n: 2,
            fruit: Fruit::Apple,
        };
        let specs = t.param_specs();
        assert_eq!(
            specs[0],
            ParamSpec::new("n", 2, ParamDomain::Int { min: 1, max: 5 }, "a count")
        );
        assert_eq!(
            specs[1].domain,
            ParamDomain::Choice(vec!["apple".into(), "blood-orange".into()])
        );
        t.set_by_name("Toy", "fruit", " blood-orange").unwrap();
        t.set_by_name("Toy", "n", "5").unwrap();
        assert_eq!((t.n, t.fruit), (5, Fruit::BloodOrange));
        assert_eq!(t.param_specs()[1].value, "blood-orange");
        let e = t.set_by_name("Toy", "n", "6").unwrap_err().to_string();
        assert_eq!(
            e,
            "invalid value '6' for parameter 'n': expected integer in [1, 5]"
        );
        let e = t.set_by_name("Toy", "m", "1").unwrap_err().to_string();
        assert_eq!(
            e,
            "unknown parameter 'm' for Toy; valid parameters: n, fruit"
        );
        // The serde form is the name.
        assert_eq!(
            serde_json::to_string(&Fruit::BloodOrange).unwrap(),
            "\"blood-orange\""
        );
        let back: Fruit = serde_json::from_str("\"apple\"").unwrap();
        assert_eq!(back, Fruit::Apple);
    }
}
