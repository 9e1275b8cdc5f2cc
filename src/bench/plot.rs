//! `mimic bench translate --plot FILE.svg`: the per-region compile-time distribution
//! (left) and the time per guest instruction of each stage (right), as one SVG.

use mimic_runtime::bench::translate::{BenchTier, Stage};
use mimic_runtime::bench::TranslateReport;
use plotters::prelude::*;
use std::path::Path;

const COLORS: [RGBColor; 5] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
];

type Error = Box<dyn std::error::Error>;

pub fn translate(report: &TranslateReport, path: &Path) -> Result<(), Error> {
    let root = SVGBackend::new(path, (1200, 500)).into_drawing_area();
    root.fill(&WHITE)?;
    let title = format!("mimic bench translate: {} ({})", report.program, report.code.arch.name());
    let root = root.titled(&title, ("sans-serif", 20))?;
    let (left, right) = root.split_horizontally(600);
    histogram(report, &left)?;
    stages(report, &right)?;
    root.present()?;
    Ok(())
}

/// Per-region times of the JIT's compile stage (or, without the JIT tier, the whole
/// translation), in log10-spaced bins.
fn histogram(report: &TranslateReport, area: &DrawingArea<SVGBackend, plotters::coord::Shift>) -> Result<(), Error> {
    let jit = report.results.tiers.contains(&BenchTier::Jit);
    let times: Vec<f64> = report
        .results
        .samples
        .iter()
        .filter(|s| !jit || s.compiled)
        .map(|s| {
            let d = if jit { s.stage(Stage::Compile) + s.stage(Stage::Emit) } else { s.decode + s.lift };
            (d.as_secs_f64() * 1e6).max(0.01)
        })
        .collect();
    let what = if jit { "Cranelift compile + emit" } else { "decode + lift" };
    const BIN: f64 = 0.05;
    let logs: Vec<f64> = times.iter().map(|t| t.log10()).collect();
    let lo = logs.iter().copied().fold(f64::INFINITY, f64::min).min(0.0).floor();
    let hi = logs.iter().copied().fold(f64::NEG_INFINITY, f64::max).max(lo + 1.0).ceil();
    let nbins = ((hi - lo) / BIN).ceil() as usize;
    let mut counts = vec![0u32; nbins.max(1)];
    for l in &logs {
        counts[(((l - lo) / BIN) as usize).min(nbins - 1)] += 1;
    }
    let top = counts.iter().copied().max().unwrap_or(1).max(1) as f64 * 1.1;
    let mut chart = ChartBuilder::on(area)
        .caption(format!("per-region time: {what} ({} regions)", times.len()), ("sans-serif", 16))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(55)
        .build_cartesian_2d(lo..hi, 0.0..top)?;
    chart
        .configure_mesh()
        .x_desc("microseconds per region (log scale)")
        .y_desc("regions")
        .x_label_formatter(&|x| format!("{}", 10f64.powf(*x).round()))
        .y_label_formatter(&|y| format!("{y:.0}"))
        .draw()?;
    chart.draw_series(counts.iter().enumerate().filter(|(_, &c)| c > 0).map(|(i, &c)| {
        let x0 = lo + i as f64 * BIN;
        Rectangle::new([(x0, 0.0), (x0 + BIN, c as f64)], COLORS[0].filled())
    }))?;
    Ok(())
}

/// Microseconds per guest instruction of each stage, one bar group per tier.
fn stages(report: &TranslateReport, area: &DrawingArea<SVGBackend, plotters::coord::Shift>) -> Result<(), Error> {
    let rows: Vec<(String, f64, usize)> = report
        .tiers
        .iter()
        .flat_map(|t| {
            t.stages.iter().enumerate().map(move |(i, s)| (format!("{} {}", t.tier.name(), s.name), s.us_per_insn, i))
        })
        .collect();
    let max = rows.iter().map(|r| r.1).fold(0.0, f64::max).max(1e-3) * 1.15;
    let n = rows.len().max(1);
    let mut chart = ChartBuilder::on(area)
        .caption("time per guest instruction, by stage", ("sans-serif", 16))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(110)
        .build_cartesian_2d(0.0..max, 0.0..n as f64)?;
    let labels: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
    chart
        .configure_mesh()
        .disable_y_mesh()
        .x_desc("microseconds per guest instruction")
        .y_labels(n * 2 + 1)
        .y_label_formatter(&|y| {
            let k = y - 0.5;
            if k >= 0.0 && (k - k.round()).abs() < 1e-6 {
                labels.get(n - 1 - k.round() as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .draw()?;
    chart.draw_series(rows.iter().enumerate().map(|(k, (_, v, i))| {
        let y = (n - 1 - k) as f64;
        Rectangle::new([(0.0, y + 0.15), (*v, y + 0.85)], COLORS[*i % COLORS.len()].filled())
    }))?;
    chart.draw_series(rows.iter().enumerate().map(|(k, (_, v, _))| {
        let y = (n - 1 - k) as f64 + 0.5;
        Text::new(format!("{v:.3}"), (*v, y), ("sans-serif", 12))
    }))?;
    Ok(())
}
