//! The peer table's throughput figures as an SVG bar chart, for
//! `cargo run --release -p wpool-bench -- --svg PATH`: one panel per
//! workload, a group of bars per worker count, one bar per contender,
//! jobs/s on a log scale with each bar's figure above it.

use std::error::Error;
use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// One bar: a contender's throughput on a workload with some workers.
#[derive(Debug)]
pub(crate) struct Bar {
    pub(crate) workload: &'static str,
    pub(crate) workers: usize,
    /// The contender's name, as plain text.
    pub(crate) contender: String,
    /// Whether the contender is wpool, drawn in warm colours.
    pub(crate) ours: bool,
    pub(crate) per_second: f64,
}

/// A workload's panel.
#[derive(Debug)]
pub(crate) struct Panel {
    pub(crate) id: &'static str,
    /// What the workload does, under its id.
    pub(crate) caption: String,
}

const WIDTH: u32 = 1400;
const HEADER: u32 = 80;
const ROW: u32 = 420;
const FONT: &str = "sans-serif";

/// wpool's colours, and the peers'.
const OURS: [RGBColor; 8] = [
    RGBColor(214, 39, 40),
    RGBColor(255, 127, 14),
    RGBColor(227, 119, 194),
    RGBColor(140, 86, 75),
    RGBColor(255, 152, 150),
    RGBColor(255, 187, 120),
    RGBColor(247, 182, 210),
    RGBColor(196, 156, 148),
];
const PEERS: [RGBColor; 7] = [
    RGBColor(127, 127, 127),
    RGBColor(31, 119, 180),
    RGBColor(23, 190, 207),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(188, 189, 34),
    RGBColor(23, 60, 110),
];

type Result<T = ()> = std::result::Result<T, Box<dyn Error>>;

/// Writes the chart of `bars` to `path`: `panels` in a grid of two
/// columns, in order, then the legend with `notes` under it. `title` and
/// `subtitle` (the machine and the date) head it.
pub(crate) fn write_svg(
    path: &Path,
    title: &str,
    subtitle: &str,
    panels: &[Panel],
    bars: &[Bar],
    notes: &[String],
) -> Result {
    // One more cell than panels, for the legend.
    let rows = (panels.len() + 1).div_ceil(2);
    let height = HEADER + ROW * rows as u32;
    let root = SVGBackend::new(path, (WIDTH, height)).into_drawing_area();
    root.fill(&WHITE)?;
    let (header, body) = root.split_vertically(HEADER);
    let bold = FontDesc::new(FontFamily::Name(FONT), 24.0, FontStyle::Bold);
    header.draw(&Text::new(title, (20, 14), bold))?;
    header.draw(&Text::new(subtitle, (20, 48), (FONT, 17)))?;
    let colours = colours(bars);
    let cells = body.split_evenly((rows, 2));
    for (panel, cell) in panels.iter().zip(&cells) {
        draw_panel(cell, panel, bars, &colours)?;
    }
    draw_legend(&cells[panels.len()], &colours, notes)?;
    root.present()?;
    Ok(())
}

/// Each contender with its colour, in the order they first appear.
fn colours(bars: &[Bar]) -> Vec<(&str, RGBColor)> {
    let mut colours: Vec<(&str, RGBColor)> = Vec::new();
    let (mut ours, mut peers) = (0, 0);
    for bar in bars {
        if colours.iter().any(|&(name, _)| name == bar.contender) {
            continue;
        }
        let colour = if bar.ours {
            ours += 1;
            OURS[(ours - 1) % OURS.len()]
        } else {
            peers += 1;
            PEERS[(peers - 1) % PEERS.len()]
        };
        colours.push((&bar.contender, colour));
    }
    colours
}

fn colour_of(colours: &[(&str, RGBColor)], contender: &str) -> RGBColor {
    colours
        .iter()
        .find(|&&(name, _)| name == contender)
        .map_or(BLACK, |&(_, colour)| colour)
}

/// The gap between two groups of bars, in bar widths.
const GAP: f64 = 0.8;

fn draw_panel(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    panel: &Panel,
    bars: &[Bar],
    colours: &[(&str, RGBColor)],
) -> Result {
    // Groups of bars by worker count, in the table's order.
    let mut groups: Vec<(usize, Vec<&Bar>)> = Vec::new();
    for bar in bars.iter().filter(|bar| bar.workload == panel.id) {
        match groups
            .iter_mut()
            .find(|(workers, _)| *workers == bar.workers)
        {
            Some((_, group)) => group.push(bar),
            None => groups.push((bar.workers, vec![bar])),
        }
    }
    // Bar `k` of the panel spans `x..x + 1`; groups are `GAP` apart.
    let mut placed: Vec<(f64, &Bar)> = Vec::new();
    let mut centres: Vec<(f64, usize)> = Vec::new();
    let mut x = 0.0;
    for (workers, group) in &groups {
        let start = x;
        for &bar in group {
            placed.push((x, bar));
            x += 1.0;
        }
        centres.push(((start + x) / 2.0, *workers));
        x += GAP;
    }
    let rates = placed.iter().map(|(_, bar)| bar.per_second);
    let (low, high) = (
        rates.clone().fold(f64::INFINITY, f64::min),
        rates.fold(0.0, f64::max),
    );
    // Whole decades, with room above the tallest bar for its figure.
    let bottom = 10f64.powf(low.log10().floor());
    let top = 10f64.powf((high.log10() + 0.7).ceil());

    let mut chart = ChartBuilder::on(area)
        .caption(format!("{}: {}", panel.id, panel.caption), (FONT, 17))
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(56)
        .build_cartesian_2d(-GAP / 2.0..x - GAP / 2.0, (bottom..top).log_scale())?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_desc("jobs/s")
        .y_label_formatter(&|rate| short(*rate))
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 14))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    chart.draw_series(placed.iter().map(|&(x, bar)| {
        let colour = colour_of(colours, &bar.contender);
        Rectangle::new(
            [(x + 0.08, bottom), (x + 0.92, bar.per_second)],
            colour.filled(),
        )
    }))?;
    let figure = FontDesc::new(FontFamily::Name(FONT), 13.0, FontStyle::Normal)
        .transform(FontTransform::Rotate270)
        .into_text_style(area)
        .pos(Pos::new(HPos::Left, VPos::Center));
    chart.draw_series(placed.iter().map(|&(x, bar)| {
        EmptyElement::at((x + 0.5, bar.per_second))
            + Text::new(short(bar.per_second), (0, -4), figure.clone())
    }))?;
    // The group labels go under the plot, outside the chart's coordinates.
    let label = TextStyle::from((FONT, 15)).pos(Pos::new(HPos::Center, VPos::Top));
    let (left, upper) = area.get_base_pixel();
    for &(centre, workers) in &centres {
        let (px, py) = chart.backend_coord(&(centre, bottom));
        let text = match workers {
            1 => "1 thread".to_owned(),
            n => format!("{n} workers"),
        };
        area.draw(&Text::new(text, (px - left, py - upper + 8), label.clone()))?;
    }
    Ok(())
}

fn draw_legend(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    colours: &[(&str, RGBColor)],
    notes: &[String],
) -> Result {
    let line = 30;
    let (x, mut y) = (40, 40);
    area.draw(&Text::new(
        "Contenders (wpool in warm colours)",
        (x, y),
        FontDesc::new(FontFamily::Name(FONT), 17.0, FontStyle::Bold),
    ))?;
    y += line + 4;
    for &(name, colour) in colours {
        area.draw(&Rectangle::new([(x, y), (x + 22, y + 18)], colour.filled()))?;
        area.draw(&Text::new(name, (x + 32, y + 2), (FONT, 16)))?;
        y += line;
    }
    y += line / 2;
    for note in notes {
        area.draw(&Text::new(note.as_str(), (x, y), (FONT, 15)))?;
        y += line - 6;
    }
    Ok(())
}

/// A rate in three significant digits or fewer: `1M`, `12.3M`, `987k`.
fn short(rate: f64) -> String {
    let (value, unit) = match rate {
        r if r >= 1e9 => (r / 1e9, "G"),
        r if r >= 1e6 => (r / 1e6, "M"),
        r if r >= 1e3 => (r / 1e3, "k"),
        r => (r, ""),
    };
    let decimals = match value {
        v if v >= 100.0 => 0,
        v if v >= 10.0 => 1,
        _ => 2,
    };
    let digits = format!("{value:.decimals$}");
    let digits = match digits.contains('.') {
        true => digits.trim_end_matches('0').trim_end_matches('.'),
        false => &digits,
    };
    format!("{digits}{unit}")
}
