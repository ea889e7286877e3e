//! A human summary of a model's metadata (the `train` report and `model inspect`).

use crate::model::{CLASS_ORDER, Metrics, ModelMetadata};
use std::fmt::Write;

fn metrics_line(out: &mut String, label: &str, m: &Metrics) {
    let ece = m.ece.map_or_else(|| "–".to_owned(), |e| format!("{e:.4}"));
    let _ = writeln!(
        out,
        "| {label} | {} | {:.4} | {:.4} | {ece} |",
        m.samples, m.accuracy, m.log_loss
    );
}

fn confusion(out: &mut String, label: &str, m: &Metrics) {
    let _ = writeln!(
        out,
        "\n{label} confusion (rows actual, columns predicted: long short neutral):\n"
    );
    for (i, row) in m.confusion.iter().enumerate() {
        let _ = writeln!(
            out,
            "    {:<8} {:>6} {:>6} {:>6}",
            CLASS_ORDER[i].as_str(),
            row[0],
            row[1],
            row[2]
        );
    }
}

/// Label counts as percentages, `31.0 / 30.5 / 38.5 %`: how lopsided the classes are decides
/// how much the class-prior baseline already gets right.
fn balance(counts: &[u64]) -> String {
    let total: u64 = counts.iter().sum();
    let shares: Vec<String> = counts
        .iter()
        .map(|&c| format!("{:.1}", 100.0 * c as f64 / total.max(1) as f64))
        .collect();
    format!("{} % of {total}", shares.join(" / "))
}

/// Renders the model's identity, data, split and test-slice metrics as Markdown.
pub fn render(meta: &ModelMetadata) -> String {
    let mut out = String::new();
    let a = &meta.architecture;
    let p = &meta.provenance;
    let r = &p.report;
    let _ = writeln!(out, "# Model {} v{}\n", meta.name, meta.version);
    let _ = writeln!(out, "- created: {}", meta.created_at);
    match meta.mode {
        crate::model::ModelMode::Windowed => {
            let _ = writeln!(
                out,
                "- network: {:?} {} x {}, {} inputs, window {} bars, {} classes",
                a.kind, a.layers, a.hidden, a.inputs, a.sequence_length, a.classes
            );
        }
        crate::model::ModelMode::Streaming { burn_in } => {
            let _ = writeln!(
                out,
                "- network: {:?} {} x {}, {} inputs, {} classes; streaming: state carried per \
                 series, one step per candle, {burn_in} burn-in steps after a (re)start; trained \
                 by truncated BPTT over {}-step chunks; test slice scored by one continuous run",
                a.kind, a.layers, a.hidden, a.inputs, a.classes, a.sequence_length
            );
        }
    }
    let _ = writeln!(out, "- labels: {}", meta.labels.describe());
    if let Some(imported) = &p.imported {
        let _ = writeln!(
            out,
            "- imported ({}): weights {} (sha256 {}), description sha256 {}; exporter: {}",
            imported.format,
            imported.weights_file,
            imported.weights_file_sha256,
            imported.description_sha256,
            serde_json::to_string(&imported.exporter).unwrap_or_default()
        );
        let _ = writeln!(out, "- weights sha256: {}\n", meta.weights_sha256);
        let _ = writeln!(
            out,
            "Trained elsewhere: there is no training report or test slice here, and its training \
             prior is unknown (scored as uniform). Measure it on data it never saw with \
             `signal-worker model evaluate`."
        );
        return out;
    }
    let _ = writeln!(
        out,
        "- class balance ({}): {}",
        CLASS_ORDER.map(|c| c.as_str()).join(" / "),
        ["train", "validation", "test"]
            .iter()
            .zip(&r.class_counts)
            .map(|(slice, counts)| format!("{slice} {}", balance(counts)))
            .collect::<Vec<_>>()
            .join("; ")
    );
    if p.series.is_empty() {
        let _ = writeln!(out, "- data: {} rows, sha256 {}", p.rows, p.source_sha256);
        let _ = writeln!(out, "- split (rows): {:?}", p.split);
    } else {
        let _ = writeln!(
            out,
            "- data: {} series, {} rows, combined sha256 {}; each split on its own, one scaler over all training slices:",
            p.series.len(),
            p.rows,
            p.source_sha256
        );
        for s in &p.series {
            let _ = writeln!(
                out,
                "  - {}: {} rows, sha256 {}, train {:?}, validation {:?}, test {:?} (test {} → {})",
                s.name,
                s.rows,
                s.source_sha256,
                s.split.train,
                s.split.validation,
                s.split.test,
                super::time::format_utc_ms(s.split_open_times[2][0]),
                super::time::format_utc_ms(s.split_open_times[2][1]),
            );
        }
    }
    let _ = writeln!(
        out,
        "- training: {} epochs run, best epoch {}, early stop: {}, best validation log-loss {:.4}",
        r.epochs_run, r.best_epoch, r.stopped_early, r.best_validation_loss
    );
    let _ = writeln!(out, "- weights sha256: {}\n", meta.weights_sha256);
    let _ = writeln!(
        out,
        "Test slice (never seen in training, scaling or model selection):\n"
    );
    let _ = writeln!(
        out,
        "| forecast | samples | accuracy | log-loss | ECE |\n|---|---|---|---|---|"
    );
    metrics_line(&mut out, "model", &r.test);
    metrics_line(
        &mut out,
        "always neutral (class prior)",
        &r.baselines.always_neutral,
    );
    metrics_line(
        &mut out,
        "previous-return sign",
        &r.baselines.previous_return_sign,
    );
    confusion(&mut out, "Model", &r.test);
    let verdict = if r.beats_baselines_on_log_loss {
        "The model beats both naive baselines on test log-loss."
    } else {
        "The model does NOT beat both naive baselines on test log-loss."
    };
    let _ = writeln!(out, "\n{verdict}");
    out
}
