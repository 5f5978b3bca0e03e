//! Small, dependency-free SVG line charts for the lab's report: axes with round ticks, one
//! polyline per series, a legend, and dashed vertical markers for events.

use std::fmt::Write as _;

/// One line of a chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

/// A line chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub series: Vec<Series>,
    /// x values to mark with a dashed vertical line (events).
    pub markers: Vec<f64>,
    /// x values are quantiles in (0, 1): drawn as "nines" (-log10(1 - q)) and labelled as
    /// percentiles.
    pub log_x_nines: bool,
}

const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 380.0;
const LEFT: f64 = 60.0;
const RIGHT: f64 = 210.0;
const TOP: f64 = 36.0;
const BOTTOM: f64 = 48.0;
const COLORS: [&str; 8] = [
    "#d62728", "#1f77b4", "#2ca02c", "#7f7f7f", "#9467bd", "#ff7f0e", "#17becf", "#8c564b",
];

fn nines(q: f64) -> f64 {
    -(1.0 - q).max(1e-9).log10()
}

/// Round tick values covering `[lo, hi]`: steps of 1, 2 or 5 times a power of ten.
fn ticks(lo: f64, hi: f64) -> Vec<f64> {
    let span = (hi - lo).max(1e-9);
    let raw = span / 5.0;
    let power = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|s| span / s <= 6.0)
        .unwrap_or(10.0 * power);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step + 1e-9).floor() as i64;
    (first..=last).map(|k| k as f64 * step).collect()
}

fn label(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

impl Chart {
    fn x_of(&self, x: f64) -> f64 {
        if self.log_x_nines { nines(x) } else { x }
    }

    /// The data's ranges: x as drawn, y from 0 to a little above the largest value.
    fn bounds(&self) -> ((f64, f64), (f64, f64)) {
        let points = || self.series.iter().flat_map(|s| s.points.iter());
        let xs = points().map(|p| self.x_of(p.0));
        let x_lo = xs.clone().fold(f64::INFINITY, f64::min);
        let x_hi = xs.fold(f64::NEG_INFINITY, f64::max);
        let y_hi = points().map(|p| p.1).fold(0.0, f64::max);
        let (x_lo, x_hi) = if x_lo.is_finite() {
            (x_lo, x_hi.max(x_lo + 1e-9))
        } else {
            (0.0, 1.0)
        };
        // Up to the first round tick above the largest value (with a little headroom).
        let y_hi = match ticks(0.0, y_hi * 1.05).as_slice() {
            [a, b, ..] if y_hi > 0.0 => ((y_hi * 1.05) / (b - a)).ceil() * (b - a),
            _ => y_hi.max(1.0),
        };
        ((x_lo, x_hi), (0.0, y_hi))
    }

    pub fn svg(&self) -> String {
        let ((x_lo, x_hi), (y_lo, y_hi)) = self.bounds();
        let plot_w = WIDTH - LEFT - RIGHT;
        let plot_h = HEIGHT - TOP - BOTTOM;
        let px = |x: f64| LEFT + (x - x_lo) / (x_hi - x_lo) * plot_w;
        let py = |y: f64| TOP + plot_h - (y - y_lo) / (y_hi - y_lo) * plot_h;
        let mut out = String::new();
        let _ = writeln!(
            out,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="11">"#
        );
        let _ = writeln!(out, r#"<rect width="100%" height="100%" fill="white"/>"#);
        let _ = writeln!(
            out,
            r#"<text x="{}" y="20" font-size="13" font-weight="bold">{}</text>"#,
            LEFT,
            escape(&self.title)
        );
        for t in ticks(y_lo, y_hi) {
            let y = py(t);
            let _ = writeln!(
                out,
                "<line x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"#e5e5e5\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
                LEFT + plot_w,
                LEFT - 6.0,
                y + 4.0,
                label(t)
            );
        }
        let x_ticks: Vec<(f64, String)> = if self.log_x_nines {
            ([0.5, 0.9, 0.99, 0.999, 0.9999].into_iter())
                .filter(|q| (x_lo - 1e-9..=x_hi + 1e-9).contains(&nines(*q)))
                .map(|q| (nines(q), label(q * 100.0)))
                .collect()
        } else {
            ticks(x_lo, x_hi)
                .into_iter()
                .map(|t| (t, label(t)))
                .collect()
        };
        for (t, text) in x_ticks {
            let _ = writeln!(
                out,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                px(t),
                TOP + plot_h + 16.0,
                text
            );
        }
        let _ = writeln!(
            out,
            "<rect x=\"{LEFT}\" y=\"{TOP}\" width=\"{plot_w}\" height=\"{plot_h}\" fill=\"none\" stroke=\"#333\"/>"
        );
        for m in &self.markers {
            let x = px(self.x_of(*m));
            let _ = writeln!(
                out,
                "<line x1=\"{x:.1}\" y1=\"{TOP}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#555\" stroke-dasharray=\"4 3\"/>",
                TOP + plot_h
            );
        }
        for (k, s) in self.series.iter().enumerate() {
            let color = COLORS[k % COLORS.len()];
            let points: Vec<String> = (s.points.iter())
                .map(|&(x, y)| format!("{:.1},{:.1}", px(self.x_of(x)), py(y)))
                .collect();
            let _ = writeln!(
                out,
                r#"<polyline fill="none" stroke="{color}" stroke-width="1.6" points="{}"/>"#,
                points.join(" ")
            );
            let ly = TOP + 14.0 + k as f64 * 18.0;
            let lx = LEFT + plot_w + 12.0;
            let _ = writeln!(
                out,
                r#"<line x1="{lx}" y1="{ly}" x2="{}" y2="{ly}" stroke="{color}" stroke-width="3"/><text x="{}" y="{}">{}</text>"#,
                lx + 18.0,
                lx + 24.0,
                ly + 4.0,
                escape(&s.name)
            );
        }
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            LEFT + plot_w / 2.0,
            HEIGHT - 12.0,
            escape(&self.x_label)
        );
        let _ = writeln!(
            out,
            r#"<text x="14" y="{:.1}" text-anchor="middle" transform="rotate(-90 14 {:.1})">{}</text>"#,
            TOP + plot_h / 2.0,
            TOP + plot_h / 2.0,
            escape(&self.y_label)
        );
        out.push_str("</svg>\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        let close = |a: Vec<f64>, b: &[f64]| {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-9)
        };
        assert!(close(ticks(0.0, 10.0), &[0.0, 2.0, 4.0, 6.0, 8.0, 10.0]));
        assert!(close(ticks(0.5, 0.95), &[0.5, 0.6, 0.7, 0.8, 0.9]));
        assert_eq!(ticks(0.0, 0.37).len(), 4);
    }

    #[test]
    fn a_chart_draws_each_series_and_marker_inside_the_plot() {
        let chart = Chart {
            title: "errors <by> load".into(),
            x_label: "load".into(),
            y_label: "%".into(),
            series: vec![
                Series {
                    name: "a".into(),
                    points: vec![(0.5, 1.0), (0.9, 4.0)],
                },
                Series {
                    name: "b".into(),
                    points: vec![(0.5, 0.0), (0.9, 2.0)],
                },
            ],
            markers: vec![0.7],
            log_x_nines: false,
        };
        let svg = chart.svg();
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert_eq!(svg.matches("stroke-dasharray").count(), 1);
        assert!(svg.contains("errors &lt;by&gt; load"));
        // The first series spans the plot's width: from x = LEFT to x = WIDTH - RIGHT.
        assert!(svg.contains(&format!("points=\"{LEFT:.1},")));
        assert!(svg.contains(&format!("{:.1},", WIDTH - RIGHT)));
        assert_eq!(svg, chart.svg(), "deterministic");
    }
}
