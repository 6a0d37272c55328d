//! Word clouds (text mining): for a text column, a TF-IDF (word 1–2 grams) + logistic regression
//! model is fitted on every cross-validation row (never the holdout); for each class, the n-grams
//! with the largest positive and the most negative coefficients are kept. A coefficient is scaled
//! to [−1, 1] by the class's largest absolute coefficient; the word's size is its document
//! frequency, its colour runs from blue (−1, marks *other* classes) to red (+1, marks this class).
//!
//! For a regression target the model is a ridge regression and there is one cloud: red n-grams
//! push the prediction higher, blue ones lower.
//!
//! The dedicated model makes the cloud available for any blueprint (a tree or a blend has no
//! coefficients to read): it explains what the text says about the classes, the way DataRobot's
//! word cloud explains its text model.

use std::fmt::Write as _;

use blueprints::linear::{LogisticRegression, Ridge};
use blueprints::search::Searched;
use blueprints::text::{DocFreq, TfidfConfig, TfidfVectorizer};
use blueprints::{Estimator, Features, FitContext};
use plotters::coord::Shift;
use plotters::prelude::*;
use serde::{Deserialize, Serialize};

use super::InsightError;
use super::charts::{FONT_FAMILY, Figure, Plot, diverging, render, text_size};

/// Word cloud settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WordCloudOptions {
    /// N-grams kept per sign and class.
    pub per_sign: usize,
    /// Seed of the model fit.
    pub seed: u64,
}

impl Default for WordCloudOptions {
    fn default() -> Self {
        Self {
            per_sign: 20,
            seed: 0,
        }
    }
}

/// One n-gram of a class's cloud.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WordStat {
    /// The n-gram.
    pub ngram: String,
    /// Its coefficient for the class (logistic regression), or toward a higher prediction
    /// (ridge regression).
    pub coefficient: f64,
    /// The coefficient divided by the class's largest absolute coefficient, in [−1, 1].
    pub scaled: f64,
    /// Number of documents (CV rows) containing it.
    pub frequency: usize,
}

/// The cloud of one class: its strongest positive then negative n-grams.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassWords {
    /// Class name.
    pub class: String,
    /// Positive n-grams (largest first), then negative ones (most negative first).
    pub words: Vec<WordStat>,
}

/// Word clouds of one text column, one per class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WordCloud {
    /// The text column.
    pub column: String,
    /// Documents the model was fitted on.
    pub n_docs: usize,
    /// Vocabulary size.
    pub n_terms: usize,
    /// One cloud per class, in class order (one cloud for a regression target).
    pub classes: Vec<ClassWords>,
    /// The model whose coefficients are shown: `logistic regression` or `ridge regression`.
    #[serde(default)]
    pub model: String,
}

/// TF-IDF word 1–2 grams of `docs`: the matrix, the n-grams and their document frequencies.
struct Terms {
    x: sprs::CsMat<f32>,
    names: Vec<String>,
    doc_freq: Vec<usize>,
}

impl Terms {
    fn of(column: &str, docs: &[Option<&str>], n_targets: usize) -> Result<Self, InsightError> {
        if docs.len() != n_targets {
            return Err(InsightError::invalid(format!(
                "{} documents for {} labels",
                docs.len(),
                n_targets
            )));
        }
        let mut cfg = TfidfConfig::word(1, 2);
        if docs.len() >= 50 {
            cfg.min_df = DocFreq::Count(2);
        }
        let mut vectorizer = TfidfVectorizer::new(cfg)?;
        let x = vectorizer.fit_transform(docs)?;
        let names: Vec<String> = vectorizer
            .feature_names()
            .into_iter()
            .map(|n| n.split_once(':').map_or(n.clone(), |(_, t)| t.to_string()))
            .collect();
        if names.is_empty() {
            return Err(InsightError::invalid(format!(
                "column '{column}' has no words to learn from"
            )));
        }
        let mut doc_freq = vec![0usize; names.len()];
        for row in x.outer_iterator() {
            for (c, _) in row.iter() {
                doc_freq[c] += 1;
            }
        }
        Ok(Self { x, names, doc_freq })
    }

    /// The cloud `label` of coefficients `c` (one per term; `None`: no words): the
    /// `per_sign` largest positive ones, then the most negative ones.
    fn words(&self, label: &str, c: Option<&[f64]>, per_sign: usize) -> ClassWords {
        let mut words = Vec::new();
        if let Some(c) = c {
            let max_abs = c.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            let mut order: Vec<usize> = (0..c.len()).collect();
            order.sort_by(|&a, &b| {
                c[b].total_cmp(&c[a])
                    .then(self.names[a].cmp(&self.names[b]))
            });
            let stat = |i: usize| WordStat {
                ngram: self.names[i].clone(),
                coefficient: c[i],
                scaled: if max_abs > 0.0 { c[i] / max_abs } else { 0.0 },
                frequency: self.doc_freq[i],
            };
            words.extend(
                order
                    .iter()
                    .take(per_sign)
                    .filter(|&&i| c[i] > 0.0)
                    .map(|&i| stat(i)),
            );
            words.extend(
                order
                    .iter()
                    .rev()
                    .take(per_sign)
                    .filter(|&&i| c[i] < 0.0)
                    .map(|&i| stat(i)),
            );
        }
        ClassWords {
            class: label.to_string(),
            words,
        }
    }

    fn cloud(
        self,
        column: &str,
        model: &str,
        n_docs: usize,
        classes: Vec<ClassWords>,
    ) -> WordCloud {
        WordCloud {
            column: column.to_string(),
            n_docs,
            n_terms: self.names.len(),
            classes,
            model: model.to_string(),
        }
    }
}

/// Fits the TF-IDF + logistic regression model on `docs` (one per row) with labels `y` and
/// returns the per-class clouds.
pub fn word_cloud(
    column: &str,
    docs: &[Option<&str>],
    y: &[u32],
    classes: &[String],
    options: &WordCloudOptions,
) -> Result<WordCloud, InsightError> {
    let terms = Terms::of(column, docs, y.len())?;
    let mut lr = LogisticRegression::default();
    lr.fit(
        &Features::sparse(terms.x.clone()),
        y,
        &FitContext::new(classes.len(), options.seed),
    )?;
    let fitted = lr.fitted()?;
    let present = &fitted.classes.present;
    let coef = &fitted.coef;
    // Per class, the coefficient of every term (absent classes get none).
    let class_coef = |class: usize| -> Option<Vec<f64>> {
        let pos = present.iter().position(|&p| p as usize == class)?;
        match coef.ncols() {
            0 => None,
            1 => {
                let sign = if pos == 1 { 1.0 } else { -1.0 };
                Some(coef.column(0).iter().map(|v| sign * v).collect())
            }
            _ => Some(coef.column(pos).to_vec()),
        }
    };
    let out = classes
        .iter()
        .enumerate()
        .map(|(k, class)| terms.words(class, class_coef(k).as_deref(), options.per_sign))
        .collect();
    Ok(terms.cloud(column, "logistic regression", docs.len(), out))
}

/// For a regression target: fits TF-IDF + ridge regression (penalty by inner CV) on `docs` with
/// the target `values` and returns one cloud, labelled `label`, whose red n-grams push the prediction higher and
/// blue ones lower.
pub fn word_cloud_regression(
    column: &str,
    docs: &[Option<&str>],
    values: &[f32],
    label: &str,
    options: &WordCloudOptions,
) -> Result<WordCloud, InsightError> {
    let terms = Terms::of(column, docs, values.len())?;
    let x = Features::sparse(terms.x.clone());
    let ctx = FitContext::new(1, options.seed);
    // The penalty is chosen on an inner 3-fold CV: with a fixed one, rare n-grams fit the
    // part of the target the text does not explain.
    let mut search = Searched::new(Box::new(Ridge::default()), 1, 3);
    search.fit_regression(&x, values, &ctx)?;
    let alpha = search
        .searched_params()
        .into_iter()
        .find(|(name, _)| name == "alpha")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(1.0);
    let mut ridge = Ridge::with_alpha(alpha);
    ridge.fit_regression(&x, values, &ctx)?;
    let coef = &ridge.fitted()?.coef;
    let words = terms.words(label, Some(coef), options.per_sign);
    Ok(terms.cloud(column, "ridge regression", docs.len(), vec![words]))
}

impl WordCloud {
    /// A text table per class: n-gram, coefficient, scaled coefficient, frequency.
    pub fn render_text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "Word cloud of '{}' (TF-IDF word 1-2 grams + {} on {} CV rows, {} terms)",
            self.column, self.model, self.n_docs, self.n_terms
        );
        for c in &self.classes {
            // A regression's one cloud is labelled by what it points to ("higher price").
            let kind = if self.classes.len() == 1 {
                ""
            } else {
                "class "
            };
            let _ = writeln!(s, "  {kind}{}:", c.class);
            let _ = writeln!(
                s,
                "    {:<32} {:>11} {:>7} {:>9}",
                "n-gram", "coefficient", "scaled", "frequency"
            );
            for w in &c.words {
                let _ = writeln!(
                    s,
                    "    {:<32} {:>11.4} {:>7.3} {:>9}",
                    w.ngram, w.coefficient, w.scaled, w.frequency
                );
            }
        }
        s
    }

    /// The cloud of class `k`: words placed on a spiral from the centre, larger (more frequent)
    /// words first, none overlapping; coloured blue → red by scaled coefficient.
    pub fn figure(&self, k: usize) -> Result<Figure, InsightError> {
        let c = self
            .classes
            .get(k)
            .ok_or_else(|| InsightError::invalid(format!("no class {k} in the word cloud")))?;
        let (w, h) = (900u32, 560u32);
        let placed = layout(&c.words, w, h - 50);
        let title = format!("'{}' words for class {}", self.column, c.class);
        render(
            &title,
            w,
            h,
            &Cloud {
                title: &title,
                placed: &placed,
            },
        )
    }
}

/// A word placed on the canvas.
#[derive(Debug, Clone, PartialEq)]
struct Placed {
    text: String,
    x: i32,
    y: i32,
    size: f64,
    colour: RGBColor,
}

fn overlaps(a: (i32, i32, i32, i32), b: (i32, i32, i32, i32)) -> bool {
    a.0 < b.2 && b.0 < a.2 && a.1 < b.3 && b.1 < a.3
}

/// Spiral placement (Wordle-style) of the words, largest first; words that find no free spot
/// inside the canvas are dropped.
fn layout(words: &[WordStat], w: u32, h: u32) -> Vec<Placed> {
    let max_f = words.iter().map(|w| w.frequency).max().unwrap_or(1).max(1) as f64;
    let mut order: Vec<&WordStat> = words.iter().collect();
    order.sort_by(|a, b| {
        b.frequency
            .cmp(&a.frequency)
            .then(b.scaled.abs().total_cmp(&a.scaled.abs()))
            .then(a.ngram.cmp(&b.ngram))
    });
    let mut boxes: Vec<(i32, i32, i32, i32)> = Vec::new();
    let mut out = Vec::new();
    let (cx, cy) = (w as f64 / 2.0, h as f64 / 2.0);
    for word in order {
        let size = 13.0 + 35.0 * (word.frequency as f64 / max_f).sqrt();
        let (tw, th) = text_size(&word.ngram, size);
        let (tw, th) = (tw as i32 + 4, th as i32 + 2);
        let mut t = 0.0f64;
        while t < 200.0 {
            let r = 4.0 * t;
            let x = (cx + r * t.cos() * 1.5) as i32 - tw / 2;
            let y = (cy + r * t.sin()) as i32 - th / 2;
            let b = (x, y, x + tw, y + th);
            if b.0 >= 0
                && b.1 >= 0
                && b.2 <= w as i32
                && b.3 <= h as i32
                && !boxes.iter().any(|o| overlaps(*o, b))
            {
                boxes.push(b);
                out.push(Placed {
                    text: word.ngram.clone(),
                    x,
                    y,
                    size,
                    colour: diverging(word.scaled),
                });
                break;
            }
            t += 0.05;
        }
    }
    out
}

struct Cloud<'a> {
    title: &'a str,
    placed: &'a [Placed],
}

impl Plot for Cloud<'_> {
    fn plot<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let area = root
            .titled(self.title, (FONT_FAMILY, 20))
            .map_err(|e| e.to_string())?;
        for p in self.placed {
            area.draw(&Text::new(
                p.text.clone(),
                (p.x, p.y),
                (FONT_FAMILY, p.size).into_font().color(&p.colour),
            ))
            .map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_words_carry_the_signal() {
        // Class 0 docs say "sun", class 1 "rain"; "the day" is everywhere.
        let mut docs = Vec::new();
        let mut y = Vec::new();
        for i in 0..60 {
            let (word, label) = if i % 2 == 0 { ("sun", 0) } else { ("rain", 1) };
            docs.push(format!("the day {word} {}", ["a", "b", "c"][i % 3]));
            y.push(label);
        }
        let refs: Vec<Option<&str>> = docs.iter().map(|d| Some(d.as_str())).collect();
        let classes: Vec<String> = vec!["dry".into(), "wet".into()];
        let wc = word_cloud("text", &refs, &y, &classes, &WordCloudOptions::default()).unwrap();
        let top0 = &wc.classes[0].words[0];
        let top1 = &wc.classes[1].words[0];
        assert!(top0.ngram.contains("sun"), "{:?}", wc.classes[0].words);
        assert!(top1.ngram.contains("rain"), "{:?}", wc.classes[1].words);
        assert!((top0.scaled - 1.0).abs() < 1e-9);
        assert_eq!(top0.frequency, 30);
        // The most negative word of class 0 is a rain word.
        let neg0 = wc.classes[0].words.iter().find(|w| w.scaled < 0.0).unwrap();
        assert!(neg0.ngram.contains("rain"), "{neg0:?}");
        assert!(
            wc.classes[0]
                .words
                .iter()
                .all(|w| (-1.0..=1.0).contains(&w.scaled))
        );
        let fig = wc.figure(1).unwrap();
        assert!(fig.svg.unwrap().contains("rain"));
        assert!(wc.render_text().contains("class wet"));
    }

    #[test]
    fn regression_cloud_is_red_toward_higher_values() {
        // "gold" documents score high, "lead" ones low; "the day" is everywhere.
        let mut docs = Vec::new();
        let mut v = Vec::new();
        for i in 0..60 {
            let (word, value) = if i % 2 == 0 {
                ("gold", 90.0)
            } else {
                ("lead", 10.0)
            };
            docs.push(format!("the day {word} {}", ["a", "b", "c"][i % 3]));
            v.push(value + (i % 5) as f32);
        }
        let refs: Vec<Option<&str>> = docs.iter().map(|d| Some(d.as_str())).collect();
        let wc = word_cloud_regression(
            "text",
            &refs,
            &v,
            "higher price",
            &WordCloudOptions::default(),
        )
        .unwrap();
        assert_eq!(wc.classes.len(), 1);
        let words = &wc.classes[0].words;
        assert!(
            words[0].ngram.contains("gold") && words[0].scaled > 0.99,
            "{words:?}"
        );
        let lowest = words.iter().find(|w| w.scaled < 0.0).unwrap();
        assert!(lowest.ngram.contains("lead"), "{lowest:?}");
        assert!(wc.render_text().contains("ridge regression"));
        assert!(wc.figure(0).unwrap().svg.unwrap().contains("gold"));
    }

    #[test]
    fn layout_never_overlaps() {
        let words: Vec<WordStat> = (0..30)
            .map(|i| WordStat {
                ngram: format!("word{i}"),
                coefficient: 1.0,
                scaled: (i as f64 / 30.0) * 2.0 - 1.0,
                frequency: 30 - i,
            })
            .collect();
        let placed = layout(&words, 600, 400);
        assert!(placed.len() >= 20, "{} placed", placed.len());
        let boxes: Vec<_> = placed
            .iter()
            .map(|p| {
                let (w, h) = text_size(&p.text, p.size);
                (p.x, p.y, p.x + w as i32, p.y + h as i32)
            })
            .collect();
        for i in 0..boxes.len() {
            for j in i + 1..boxes.len() {
                assert!(
                    !overlaps(boxes[i], boxes[j]),
                    "{:?} / {:?}",
                    placed[i],
                    placed[j]
                );
            }
        }
    }
}
