//! The benchmark's ratio chart (PNG), drawn with plotters. Text uses DejaVu Sans from the
//! system fonts (Debian's fonts-dejavu-core).

use std::path::Path;

use anyhow::{Context, Result};
use plotters::prelude::*;

use crate::bench::report::{Report, ratio_of};

const FONT_PATHS: [&str; 2] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
];

/// How many times better serverless-mcp is than the reference on each figure (log scale).
pub fn draw(report: &Report, out: &Path) -> Result<()> {
    let font = FONT_PATHS
        .iter()
        .find_map(|p| std::fs::read(p).ok())
        .context("DejaVuSans.ttf not found (apt-get install fonts-dejavu-core)")?;
    let font: &'static [u8] = Box::leak(font.into_boxed_slice());
    plotters::style::register_font("sans-serif", FontStyle::Normal, font)
        .map_err(|_| anyhow::anyhow!("bad font"))?;

    let (l, lo, a, c) = (
        &report.lambda,
        &report.local,
        &report.artifact,
        &report.cost,
    );
    let bars: Vec<(&str, Option<f64>)> = vec![
        (
            "cold start",
            ratio_of(
                l.reference.cold_first_response_ms.median,
                l.ours.cold_first_response_ms.median,
            ),
        ),
        (
            "init",
            ratio_of(l.reference.init_ms.median, l.ours.init_ms.median),
        ),
        (
            "warm call",
            ratio_of(
                l.reference.warm_tools_call_ms.median,
                l.ours.warm_tools_call_ms.median,
            ),
        ),
        (
            "peak RSS",
            ratio_of(l.reference.peak_rss_mib, l.ours.peak_rss_mib),
        ),
        (
            "throughput",
            ratio_of(
                lo.ours.requests_per_second,
                lo.reference.requests_per_second,
            ),
        ),
        ("local p99", ratio_of(lo.reference.p99_ms, lo.ours.p99_ms)),
        (
            "zip size",
            ratio_of(a.reference_zip_bytes as f64, a.ours_zip_bytes as f64),
        ),
        (
            "cost",
            ratio_of(
                c.reference.usd_per_million_calls,
                c.ours.usd_per_million_calls,
            ),
        ),
    ];
    let max = bars.iter().filter_map(|(_, v)| *v).fold(1.0_f64, f64::max) * 2.0;

    let root = BitMapBackend::new(out, (1000, 560)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "serverless-mcp vs the Node/TypeScript reference (x times better, log scale)",
            ("sans-serif", 22),
        )
        .margin(20)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d((0..bars.len()).into_segmented(), (0.5_f64..max).log_scale())?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(bars.len())
        .x_label_formatter(&|x| match x {
            SegmentValue::CenterOf(i) => bars.get(*i).map(|b| b.0.to_string()).unwrap_or_default(),
            _ => String::new(),
        })
        .y_desc("reference ÷ ours")
        .label_style(("sans-serif", 15))
        .draw()?;
    chart.draw_series(bars.iter().enumerate().filter_map(|(i, (_, v))| {
        let v = (*v)?;
        let mut bar = Rectangle::new(
            [
                (SegmentValue::Exact(i), 0.5),
                (SegmentValue::Exact(i + 1), v),
            ],
            BLUE.mix(0.6).filled(),
        );
        bar.set_margin(0, 0, 12, 12);
        Some(bar)
    }))?;
    chart.draw_series(bars.iter().enumerate().filter_map(|(i, (_, v))| {
        let v = (*v)?;
        Some(Text::new(
            format!("{v:.1}x"),
            (SegmentValue::CenterOf(i), v * 1.15),
            ("sans-serif", 16),
        ))
    }))?;
    root.present()?;
    Ok(())
}
