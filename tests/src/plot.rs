//! SVG plots drawn by the benchmarks (committed under docs/bench/).

use std::path::{Path, PathBuf};
use std::time::Duration;

use plotters::prelude::*;

/// Where plots go unless a benchmark is told otherwise: docs/bench/ of the workspace.
pub fn default_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/bench")
}

type PlotResult = Result<(), Box<dyn std::error::Error>>;

const COLOURS: [RGBColor; 4] = [
    RGBColor(200, 60, 40),
    RGBColor(30, 100, 200),
    RGBColor(40, 150, 60),
    RGBColor(140, 80, 160),
];

/// Latency distributions as cumulative curves (x: latency in µs, log scale),
/// one per `(label, sorted samples)`.
pub fn latency_cdf(path: &Path, title: &str, series: &[(&str, &[Duration])]) -> PlotResult {
    let us = |d: &Duration| d.as_secs_f64() * 1e6;
    let all = series.iter().flat_map(|(_, s)| s.iter());
    let (lo, hi) = all.fold((f64::MAX, 0f64), |(lo, hi), d| {
        (lo.min(us(d)), hi.max(us(d)))
    });
    let root = SVGBackend::new(path, (800, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d((lo * 0.9..hi * 1.1).log_scale(), 0f64..100f64)?;
    chart
        .configure_mesh()
        .x_desc("latency (µs, log scale)")
        .y_desc("calls at or below (%)")
        .draw()?;
    for (i, (label, sorted)) in series.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let n = sorted.len().max(1) as f64;
        // At most ~1000 points per curve: the shape, not every sample.
        let step = (sorted.len() / 1000).max(1);
        let points = sorted
            .iter()
            .enumerate()
            .step_by(step)
            .map(|(k, d)| (us(d), 100.0 * (k + 1) as f64 / n));
        chart
            .draw_series(LineSeries::new(points, colour.stroke_width(2)))?
            .label(*label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

/// Throughput against concurrent clients, one line per `(label, [(clients, per second)])`.
pub fn throughput_curve(
    path: &Path,
    title: &str,
    y_desc: &str,
    series: &[(&str, Vec<(u32, f64)>)],
) -> PlotResult {
    let max_x = series
        .iter()
        .flat_map(|(_, s)| s.iter().map(|p| p.0))
        .max()
        .unwrap_or(1);
    let max_y = series
        .iter()
        .flat_map(|(_, s)| s.iter().map(|p| p.1))
        .fold(1f64, f64::max);
    let root = SVGBackend::new(path, (800, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0u32..max_x + 1, 0f64..max_y * 1.15)?;
    chart
        .configure_mesh()
        .x_desc("concurrent clients")
        .y_desc(y_desc)
        .draw()?;
    for (i, (label, points)) in series.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                colour.stroke_width(2),
            ))?
            .label(*label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
            });
        chart.draw_series(points.iter().map(|p| Circle::new(*p, 4, colour.filled())))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}
