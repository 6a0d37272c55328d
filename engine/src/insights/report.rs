//! The HTML report: one self-contained file (figures embedded as base64 `data:` URIs, styles
//! inline, no script) with the data profile, the leaderboard and every insight of a model.

use std::fmt::Write as _;

use base64::Engine as _;

use super::InsightError;
use super::context::InsightContext;
use super::generate::InsightOutputs;
use blueprints::metrics::fmt_score;

/// Escapes text for HTML.
pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

const STYLE: &str = "body{font-family:'DejaVu Sans',Arial,sans-serif;margin:2em auto;max-width:1300px;color:#222;padding:0 1em}\
h1{border-bottom:2px solid #1f77b4}h2{margin-top:2em;border-bottom:1px solid #ccc}\
table{border-collapse:collapse;margin:1em 0;font-size:13px}th,td{border:1px solid #ccc;padding:3px 8px;text-align:left}\
th{background:#f0f4f8}tr.best{background:#e8f4e8;font-weight:bold}td.num{text-align:right;font-variant-numeric:tabular-nums}\
figure{margin:1em 0}figure img{max-width:100%;border:1px solid #ddd}figcaption{font-size:13px;color:#555}\
pre{background:#f7f7f7;padding:.8em;overflow-x:auto;font-size:12px}.note{color:#8a5300}";

fn num(v: Option<f64>) -> String {
    v.map_or("-".into(), fmt_score)
}

/// The data-profile section.
fn profile_section(ctx: &InsightContext, s: &mut String) {
    let _ = writeln!(s, "<h2 id=\"profile\">Data profile</h2>");
    let settings = &ctx.project.settings;
    let _ = writeln!(
        s,
        "<p>Data <code>{}</code>: {} rows, target <b>{}</b>{}. Task: {}.</p>",
        escape(&settings.data_path.display().to_string()),
        ctx.dataset.n_rows(),
        escape(&settings.target),
        settings.group.as_ref().map_or(String::new(), |g| format!(
            ", folds grouped by <b>{}</b>",
            escape(g)
        )),
        escape(&ctx.target.reason)
    );
    if let Some(t) = ctx.profile.as_ref().and_then(|p| p.target_summary.as_ref()) {
        let _ = writeln!(
            s,
            "<p id=\"target-summary\">Target values: {}.</p>",
            escape(&t.describe())
        );
    }
    if !ctx.target.task.is_regression() {
        let counts = ctx.target.class_counts();
        let _ = writeln!(
            s,
            "<table id=\"classes\"><tr><th>class</th><th>rows</th></tr>"
        );
        for (c, n) in ctx.target.classes.iter().zip(counts) {
            let _ = writeln!(
                s,
                "<tr><td>{}</td><td class=\"num\">{n}</td></tr>",
                escape(c)
            );
        }
        let _ = writeln!(s, "</table>");
    }
    if let Some(p) = &ctx.profile {
        let _ = writeln!(
            s,
            "<table id=\"columns\"><tr><th>column</th><th>kind</th><th>missing</th><th>distinct</th><th>examples</th><th>used</th></tr>"
        );
        for c in &p.columns {
            let used = if p.feature_columns.contains(&c.name) {
                "feature".to_string()
            } else {
                p.excluded
                    .iter()
                    .find(|e| e.column == c.name)
                    .map_or("-".into(), |e| format!("excluded: {}", e.reason))
            };
            let _ = writeln!(
                s,
                "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>",
                escape(&c.name),
                c.kind.as_str(),
                c.missing,
                c.distinct,
                escape(&c.examples.join(" | ")),
                escape(&used)
            );
        }
        let _ = writeln!(s, "</table>");
        for l in &p.leakage {
            let _ = writeln!(
                s,
                "<p class=\"note\">Target leakage: <b>{}</b>: {}</p>",
                escape(&l.column),
                escape(&l.reason)
            );
        }
        if p.duplicate_rows > 0 || !p.duplicate_images.is_empty() {
            let _ = writeln!(
                s,
                "<p>Duplicates: {} identical rows, {} groups of byte-identical images.</p>",
                p.duplicate_rows,
                p.duplicate_images.len()
            );
        }
    }
}

/// The leaderboard section (holdout shown only when unlocked).
fn leaderboard_section(ctx: &InsightContext, chosen: &str, s: &mut String) {
    let lb = &ctx.leaderboard;
    let m = ctx.target.task.metric();
    let _ = writeln!(s, "<h2 id=\"leaderboard\">Leaderboard</h2>");
    let _ = writeln!(
        s,
        "<p>Ranked by {m} (cross-validation mean when available, else validation). Holdout: {}.</p>",
        if lb.holdout_unlocked {
            "unlocked"
        } else {
            "locked"
        }
    );
    let _ = writeln!(
        s,
        "<table id=\"leaderboard-table\"><tr><th>id</th><th>blueprint</th><th>feature list</th><th>sample %</th><th>validation</th><th>CV mean ± std</th><th>holdout</th><th>fit s</th></tr>"
    );
    for r in lb.sorted(m) {
        let cv = match (
            r.cv_mean.as_ref().and_then(|x| x.get(&m)),
            r.cv_std.as_ref().and_then(|x| x.get(&m)),
        ) {
            (Some(a), Some(b)) => format!("{} ± {}", fmt_score(*a), fmt_score(*b)),
            _ => "-".into(),
        };
        let holdout = match (&r.holdout, lb.holdout_unlocked) {
            (None, _) => "-".to_string(),
            (Some(_), false) => "locked".into(),
            (Some(h), true) => num(h.get(&m).copied()),
        };
        let class = if r.model_id == chosen {
            " class=\"best\""
        } else {
            ""
        };
        let _ = writeln!(
            s,
            "<tr{class}><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{:.0}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{:.2}</td></tr>",
            escape(&r.model_id),
            escape(&r.blueprint),
            escape(&r.feature_list),
            r.sample_pct,
            num(r.validation.get(&m).copied()),
            cv,
            holdout,
            r.fit_seconds
        );
    }
    let _ = writeln!(s, "</table>");
}

/// The insights of one model: every figure (embedded) with its caption, and the text tables.
fn insights_section(out: &InsightOutputs, s: &mut String) -> Result<(), InsightError> {
    let _ = writeln!(
        s,
        "<h2 id=\"insights\">Insights of {}</h2><p>{}</p>",
        escape(&out.model_id),
        escape(&out.blueprint)
    );
    for n in &out.notes {
        let _ = writeln!(s, "<p class=\"note\">{}</p>", escape(n));
    }
    let mut section = "";
    for f in &out.figures {
        if f.section != section {
            section = f.section.as_str();
            let _ = writeln!(s, "<h3>{}</h3>", escape(section));
            if section == "Feature Impact"
                && let Some(fi) = &out.feature_impact
            {
                let _ = writeln!(s, "<pre>{}</pre>", escape(&fi.render_text()));
            }
            if section == "Confusion matrix" {
                for c in out.confusion_cv.iter().chain(&out.confusion_holdout) {
                    let _ = writeln!(s, "<pre>{}</pre>", escape(&c.render_text()));
                }
            }
            if section == "ROC curve"
                && let Some(r) = &out.roc
            {
                let _ = writeln!(s, "<pre>{}</pre>", escape(&r.render_text()));
            }
            if section == "Predicted vs actual" {
                for f in &out.regression {
                    let _ = writeln!(s, "<pre>{}</pre>", escape(&f.render_text()));
                }
            }
        }
        let bytes = std::fs::read(&f.png).map_err(|error| InsightError::Io {
            path: f.png.clone(),
            error,
        })?;
        let _ = writeln!(
            s,
            "<figure><img alt=\"{}\" src=\"data:image/png;base64,{}\"><figcaption>{}</figcaption></figure>",
            escape(&format!("{}: {}", f.section, f.caption)),
            base64::engine::general_purpose::STANDARD.encode(bytes),
            escape(&f.caption)
        );
    }
    for wc in &out.word_clouds {
        let _ = writeln!(
            s,
            "<details><summary>Word table of '{}'</summary><pre>{}</pre></details>",
            escape(&wc.column),
            escape(&wc.render_text())
        );
    }
    Ok(())
}

/// The whole report as one HTML document.
pub fn render_report(
    ctx: &InsightContext,
    outputs: &InsightOutputs,
) -> Result<String, InsightError> {
    let mut s = String::new();
    let title = format!(
        "Autopilot report: {} → {}",
        ctx.project
            .settings
            .data_path
            .file_name()
            .map_or_else(String::new, |f| f.to_string_lossy().into_owned()),
        ctx.project.settings.target
    );
    let _ = writeln!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body>",
        escape(&title)
    );
    let _ = writeln!(
        s,
        "<h1>{}</h1><p>Project <code>{}</code>, generated {} by autopilot {}.</p>",
        escape(&title),
        escape(&ctx.project.dir().display().to_string()),
        crate::project::utc_timestamp(),
        env!("CARGO_PKG_VERSION")
    );
    let _ = writeln!(
        s,
        "<nav><a href=\"#profile\">Data profile</a> · <a href=\"#leaderboard\">Leaderboard</a> · <a href=\"#insights\">Insights</a></nav>"
    );
    profile_section(ctx, &mut s);
    leaderboard_section(ctx, &outputs.model_id, &mut s);
    insights_section(outputs, &mut s)?;
    let _ = writeln!(s, "</body></html>");
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
